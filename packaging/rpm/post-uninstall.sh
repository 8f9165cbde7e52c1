# %postun: what Rocky 9's %systemd_postun_with_restart expands to. On upgrade, mark the
# running service for a restart into the new version (systemd's rpm triggers do it once the
# transaction ends; svc-store migrates the database schema on that first start).
if [ "$1" -ge 1 ] && [ -x /usr/lib/systemd/systemd-update-helper ]; then
    /usr/lib/systemd/systemd-update-helper mark-restart-system-units sip-dect-mom.service || :
fi
exit 0
