#!/usr/bin/env python3
"""Drives the MOM's MAXI with the PyPI library mitel-ommclient2 0.0.1, unchanged, over the
plain debug listener (the library speaks no TLS): log in, create users, list them page by
page, edit one (its SIP password encrypted with the MOM's key), read it back. Prints one
line per step; exits non-zero on the first failure. The Rust test that runs it checks the
store afterwards.

Usage: ommclient2_check.py HOST PORT USER PASSWORD
"""

import sys

from mitel_ommclient2 import OMMClient2


def main():
    host, port, user, password = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    c = OMMClient2(host, user, password, port=port)
    print("logged in")
    assert c.ping(), "ping"
    created = [c.create_user(str(5000 + i)) for i in range(25)]
    uids = [int(u.uid) for u in created]
    assert len(set(uids)) == 25, uids
    print("created", len(uids))
    listed = list(c.get_users())
    listed_uids = {int(u.uid) for u in listed}
    assert set(uids) <= listed_uids, (uids, listed_uids)
    print("listed", len(listed))
    first = uids[0]
    edited = c.set_user_name(first, "Interop Ward")
    assert edited.name == "Interop Ward", edited
    c.set_user_sipauth(first, "sip5000", "Sip.Secret-1")
    back = c.get_user(first)
    assert back.name == "Interop Ward" and back.num == "5000", back
    assert back.sipAuthId == "sip5000", back
    print("read back", back.uid, back.num, back.name)
    c.connection.close()
    print("ok")


if __name__ == "__main__":
    main()
