# %post: what Rocky 9's %systemd_post and %tmpfiles_create expand to. A first installation
# applies the preset (80-sip-dect-mom.preset enables the service; it is not started);
# an upgrade changes nothing here, systemd's rpm triggers reload the units.
if [ "$1" -eq 1 ] && [ -x /usr/lib/systemd/systemd-update-helper ]; then
    /usr/lib/systemd/systemd-update-helper install-system-units sip-dect-mom.service sip-dect-mom.socket || :
fi
# The folders with their owners (kept when they exist, so the database survives).
if [ -x /usr/bin/systemd-tmpfiles ]; then
    /usr/bin/systemd-tmpfiles --create /usr/lib/tmpfiles.d/sip-dect-mom.conf || :
fi
# firewalld learns the new service file (it is not enabled in any zone by the package).
if [ -x /usr/bin/firewall-cmd ] && /usr/bin/firewall-cmd --state > /dev/null 2>&1; then
    /usr/bin/firewall-cmd --reload > /dev/null 2>&1 || :
fi
exit 0
