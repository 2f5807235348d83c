"""What an operator watches: the request id every log line, audit entry and JSM call of a request carries
(`context`), Prometheus metrics (`metrics`) and the log format (`logs`). Framework-free."""
