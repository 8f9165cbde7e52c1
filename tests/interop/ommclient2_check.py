#!/usr/bin/env python3
"""Drives the MOM's MAXI with the PyPI library mitel-ommclient2 0.0.1, unchanged, over the
plain debug listener (the library speaks no TLS), against a MOM whose users and handsets
live on linked OMMs: every call the library offers, and every user and device paged. Prints
one line per step; exits non-zero on the first failure. The Rust test that runs it checks
the store and the OMMs afterwards.

Usage: ommclient2_check.py HOST PORT USER PASSWORD USERS DEVICES
(USERS and DEVICES: how many the MOM holds before the script creates any)
"""

import sys

from mitel_ommclient2 import OMMClient2, exceptions, types


def main():
    host, port, user, password = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    users_before, devices_before = int(sys.argv[5]), int(sys.argv[6])
    c = OMMClient2(host, user, password, port=port)
    print("logged in")
    assert c.ping(), "ping"
    modulus, exponent = c.get_publickey()
    assert modulus > 0 and exponent > 0, (modulus, exponent)
    assert len(c.encrypt("x")) > 0
    print("public key", modulus.bit_length())

    # Every user and device, page by page: records that live on OMMs included.
    users = list(c.get_users())
    assert len(users) == users_before, (len(users), users_before)
    devices = list(c.get_devices())
    assert len(devices) == devices_before, (len(devices), devices_before)
    print("paged", len(users), "users", len(devices), "devices")
    one = c.get_user(int(users[0].uid))
    assert one.uid == users[0].uid, one
    dev = c.get_device(int(devices[0].ppn))
    assert dev.ppn == devices[0].ppn, dev

    created = [c.create_user(str(5000 + i)) for i in range(25)]
    uids = [int(u.uid) for u in created]
    assert len(set(uids)) == 25, uids
    print("created", len(uids))
    listed = list(c.find_users(lambda u: u.num.startswith("50")))
    assert {int(u.uid) for u in listed} == set(uids), listed
    print("listed", len(listed))

    first = uids[0]
    edited = c.set_user_name(first, "Interop Ward")
    assert edited.name == "Interop Ward", edited
    c.set_user_sipauth(first, "sip5000", "Sip.Secret-1")
    renumbered = c.set_user_num(uids[1], "5999")
    assert renumbered.num == "5999", renumbered
    back = c.get_user(first)
    assert back.name == "Interop Ward" and back.num == "5000", back
    assert back.sipAuthId == "sip5000", back
    print("read back", back.uid, back.num, back.name)

    # A handset subscribed at an OMM, not bound: bind a new user to it (the self-service
    # subscription flow), then unbind it in each of the library's three ways.
    unbound = list(
        c.find_devices(lambda d: d.relType == types.PPRelTypeType("Unbound"))
    )
    assert len(unbound) >= 3, unbound
    ppns = [int(d.ppn) for d in unbound[:3]]
    bound_user, bound_dev = c.attach_user_device(first, ppns[0])
    assert int(bound_user.ppn) == ppns[0] and int(bound_dev.uid) == first, (
        bound_user,
        bound_dev,
    )
    c.detach_user_device(first, ppns[0])
    assert int(c.get_device(ppns[0]).uid) == 0
    c.attach_user_device(uids[3], ppns[1])
    c.detach_user_device_by_user(uids[3])
    assert int(c.get_user(uids[3]).ppn) == 0
    c.attach_user_device(uids[4], ppns[2])
    c.detach_user_device_by_device(ppns[2])
    assert int(c.get_device(ppns[2]).uid) == 0
    # Last, the binding the Rust test looks for on the handset's OMM.
    c.attach_user_device(first, ppns[0])
    c.set_user_relation_fixed(first)
    assert c.get_user(first).relType == types.PPRelTypeType("Fixed")
    c.set_user_relation_dynamic(first)
    assert c.get_device(ppns[0]).relType == types.PPRelTypeType("Dynamic")
    print("bound", first, ppns[0])

    # GetAccount is not part of MAXI: a clean error, and the link stays up.
    try:
        c.get_account(1)
        raise AssertionError("GetAccount answered")
    except exceptions.OMResponseException as e:
        print("get_account refused:", type(e).__name__)
    assert c.ping(), "ping after a refused request"
    c.connection.close()
    print("ok")


if __name__ == "__main__":
    main()
