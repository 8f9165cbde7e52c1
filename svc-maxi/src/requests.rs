//! One supported request, carried out: the session has checked the login and the
//! permission; this module turns the request into its answer frame, with the request's
//! `seq`, or into its `…Resp` with the error.

use crate::events::{note_interest, Subscriptions};
use crate::refusal::Refusal;
use crate::service::Service;
use crate::{directory, messaging};
use axi::message::{
    GetPublicKeyResp, GetSARIResp, GetSystemNameResp, SetMOMKeyResp, SubscribeResp,
};
use axi::{ErrCode, Frame, Message};
use rsa::traits::PublicKeyParts;
use std::sync::Mutex;

pub use crate::caller::Caller;

/// The answer to `request`.
pub async fn answer(
    service: &Service,
    caller: &mut Caller,
    subscriptions: &Mutex<Subscriptions>,
    seq: Option<String>,
    request: Message,
) -> Frame {
    let name = request.name().to_owned();
    match carry_out(service, caller, subscriptions, request).await {
        Ok(message) => Frame::new(seq, message),
        Err((refusal, message)) => {
            let mut frame = Frame::error_response(&name, seq, refusal.to_error());
            if let Some(message) = message {
                frame.message = message;
            }
            frame
        }
    }
}

/// The key a client announces for the secrets it reads (`SetMOMKey`).
///
/// # Errors
/// `EInval bad="modulus"` for a key that does not parse or is not 1024 to 4096 bits (every
/// record read encrypts with it: a huge key would make each read slow).
fn client_key(modulus: &str, exponent: &str) -> Result<rsa::RsaPublicKey, Refusal> {
    let key = axi::secret::public_key(modulus, exponent)
        .map_err(|e| Refusal::inval("modulus", format!("not a usable RSA key: {e}")))?;
    if !(1024..=4096).contains(&key.n().bits()) {
        return Err(Refusal::inval("modulus", "the key needs 1024 to 4096 bits"));
    }
    Ok(key)
}

/// A refusal, and the answer element to carry it when it has attributes of its own.
type Refused = (Refusal, Option<Message>);

fn plain(r: Refusal) -> Refused {
    (r, None)
}

async fn carry_out(
    service: &Service,
    caller: &mut Caller,
    subscriptions: &Mutex<Subscriptions>,
    request: Message,
) -> Result<Message, Refused> {
    match request {
        Message::GetPublicKey(_) => {
            let (modulus, exponent) = axi::secret::key_hex(&service.key.to_public_key());
            Ok(GetPublicKeyResp {
                modulus: Some(modulus),
                exponent: Some(exponent),
            }
            .into())
        }
        Message::SetMOMKey(k) => {
            caller.client_key = Some(client_key(&k.modulus, &k.exponent).map_err(plain)?);
            Ok(SetMOMKeyResp {}.into())
        }
        Message::GetSARI(_) => {
            let sari = match service.store.license().await {
                Ok(Some(l)) => <axi::value::Hex10 as axi::value::AttrValue>::parse(&l.sari),
                Ok(None) => None,
                Err(e) => return Err(plain(e.into())),
            };
            Ok(GetSARIResp { sari }.into())
        }
        Message::GetSystemName(_) => match service.store.settings().await {
            Ok(s) => Ok(GetSystemNameResp {
                name: Some(s.system_name),
            }
            .into()),
            Err(e) => Err(plain(e.into())),
        },
        Message::GetPPUser(g) => directory::get_users(service, caller, g.uid, g.max_records)
            .await
            .map_err(plain),
        Message::GetPPDev(g) => directory::get_devices(service, caller, g.ppn, g.max_records)
            .await
            .map_err(plain),
        Message::GetPPUserByNumber(g) => directory::user_by_number(service, caller, &g.num)
            .await
            .map_err(plain),
        Message::GetPPDevByIPEI(g) => directory::device_by_ipei(service, caller, g.ipei)
            .await
            .map_err(plain),
        Message::CreatePPUser(c) => directory::create_user(service, caller, &c.user)
            .await
            .map_err(plain),
        Message::SetPPUser(s) => directory::set_user(service, caller, &s.user)
            .await
            .map_err(plain),
        Message::DeletePPUser(d) => directory::delete_user(service, caller, d.uid)
            .await
            .map_err(plain),
        Message::CreatePPDev(c) => directory::create_device(service, caller, &c.pp)
            .await
            .map_err(plain),
        Message::SetPPDev(s) => directory::set_device(service, caller, &s.pp)
            .await
            .map_err(plain),
        Message::DeletePPDev(d) => directory::delete_device(service, caller, d.ppn)
            .await
            .map_err(plain),
        Message::SetPP(s) => directory::set_pp(service, caller, s.user.as_ref(), s.pp.as_ref())
            .await
            .map_err(plain),
        Message::SetPPUserDevRelation(r) => {
            directory::set_relation(service, caller, r.uid, r.rel_type)
                .await
                .map_err(plain)
        }
        Message::SendMessage(s) => messaging::send_message(service, &s.msg)
            .await
            .map_err(plain),
        Message::ApplicationDataChannel(a) => {
            messaging::data_channel(service, a.omm_id, a.channel, a.data)
                .await
                .map_err(plain)
        }
        Message::Subscribe(s) => {
            let applied = subscriptions
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .apply(&s.entries);
            match applied {
                Ok((gained, lost)) => {
                    note_interest(service, &gained, &lost);
                    Ok(SubscribeResp { event_type: None }.into())
                }
                Err(event_type) => Err((
                    Refusal::inval(
                        "eventType",
                        format!(
                            "MAXI offers no event type {:?}",
                            model::printable(&event_type)
                        ),
                    ),
                    Some(
                        SubscribeResp {
                            event_type: Some(event_type),
                        }
                        .into(),
                    ),
                )),
            }
        }
        other => Err(plain(Refusal::new(
            ErrCode::EFailed,
            format!("{} is not supported", other.name()),
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::client_key;

    #[test]
    fn a_client_key_must_be_an_rsa_key_of_1024_to_4096_bits() {
        let ok = axi::secret::generate(1024).unwrap().to_public_key();
        let (n, e) = axi::secret::key_hex(&ok);
        assert!(client_key(&n, &e).is_ok());
        let small = axi::secret::generate(512).unwrap().to_public_key();
        let (n, e) = axi::secret::key_hex(&small);
        let refused = client_key(&n, &e).unwrap_err();
        assert_eq!(
            (refused.code.as_str(), refused.bad.as_deref()),
            ("EInval", Some("modulus"))
        );
        assert!(refused.info.contains("1024 to 4096"), "{}", refused.info);
        let huge = "F".repeat(2 * 1025);
        assert_eq!(
            client_key(&huge, "010001").unwrap_err().bad.as_deref(),
            Some("modulus")
        );
        assert!(client_key("not hex", "010001").is_err());
    }
}
