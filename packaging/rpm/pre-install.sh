# %pre: the MOM's group and service users exist before rpm lays down files owned by them.
# systemd-sysusers reads the same file the package ships (/usr/lib/sysusers.d); rpm 4.16
# (Rocky 9) does not act on the user()/group() provides, so this scriptlet does the work.
if [ -x /usr/bin/systemd-sysusers ]; then
    /usr/bin/systemd-sysusers --replace=/usr/lib/sysusers.d/sip-dect-mom.conf - <<'USERS' || :
g mom        -
u mom-store  -:mom "sip-dect-mom store"   /nonexistent /usr/sbin/nologin
u mom-axi    -:mom "sip-dect-mom OMM links" /nonexistent /usr/sbin/nologin
u mom-maxi   -:mom "sip-dect-mom MAXI"    /nonexistent /usr/sbin/nologin
u mom-web    -:mom "sip-dect-mom web"     /nonexistent /usr/sbin/nologin
USERS
fi
# Without systemd-sysusers (or if it failed): the same users by shadow-utils.
getent group mom > /dev/null || groupadd -r mom
for u in mom-store mom-axi mom-maxi mom-web; do
    getent passwd "$u" > /dev/null ||
        useradd -r -g mom -d /nonexistent -M -s /usr/sbin/nologin -c "sip-dect-mom ${u#mom-}" "$u"
done
exit 0
