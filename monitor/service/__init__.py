"""The daemon: ``news-monitor run``.

``daemon`` owns the service loop (jobs, reload, stop), ``scheduler`` the APScheduler wiring,
``sdnotify`` the systemd notify protocol, ``http`` the /metrics and /healthz endpoint,
``metrics`` the Prometheus registry, ``logs`` the one-line-per-event logging set-up.
"""
