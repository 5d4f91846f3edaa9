"""gunicorn settings for the Mysfits service (loaded with --config in the Dockerfile CMD)."""

# Listen on every interface of the container; publish it with `docker run -p HOST:8080`.
bind = "0.0.0.0:8080"

# One worker process with a few threads: likes and adoptions live in that one process's
# memory, so every request sees the same counts (two workers would each keep their own).
workers = 1
worker_class = "gthread"
threads = 4

# Access log and error log both to the container's stdout/stderr, so `docker logs` shows them.
accesslog = "-"
errorlog = "-"
loglevel = "info"

# The heartbeat file lives in memory rather than on the container's writable layer.
worker_tmp_dir = "/dev/shm"

# No runtime control socket: the service user has no home directory to put it in.
control_socket_disable = True
