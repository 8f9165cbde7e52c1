# %preun: what Rocky 9's %systemd_preun expands to. Only on removal (not on upgrade): stop
# and disable the service. The database, resource files and OMM folders stay in
# /var/lib/sip-dect-mom; a later installation finds and uses them.
if [ "$1" -eq 0 ] && [ -x /usr/lib/systemd/systemd-update-helper ]; then
    /usr/lib/systemd/systemd-update-helper remove-system-units sip-dect-mom.service sip-dect-mom.socket || :
fi
exit 0
