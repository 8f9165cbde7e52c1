//! System-wide DECT messaging and the application data channel for applications (admin
//! guide chapter 1; profile §7): an application's `SendMessage` goes to the OMM where the
//! recipient is located and is answered after that OMM answered; its
//! `ApplicationDataChannel ommId` reaches that OMM. svc-axi holds the OMM links and does
//! the delivery (`axi.sock`).

use crate::refusal::Refusal;
use crate::service::Service;
use axi::message::{ApplicationDataChannelResp, SendMessageResp};
use axi::{ErrCode, Message, TextMessage};
use ipc::api::axi::{AxiRequest, AxiResponse};

async fn call(service: &Service, request: AxiRequest) -> Result<AxiResponse, Refusal> {
    let Some(axi) = &service.axi else {
        return Err(Refusal::new(ErrCode::EFailed, "the MOM has no OMM links"));
    };
    axi.request(request).await.map_err(|e| {
        tracing::warn!(error = %e, "svc-axi did not answer a MAXI request");
        Refusal::new(
            ErrCode::EFailed,
            "the MOM's OMM links are not reachable now",
        )
    })
}

/// `SendMessage` with a `msg` child.
///
/// # Errors
/// `ENoEnt bad="toAddr"` for a number no connected OMM has; the target OMM's error.
pub async fn send_message(service: &Service, msg: &TextMessage) -> Result<Message, Refusal> {
    crate::statistics::bump(&service.stats.send_message_requests);
    let attrs = msg
        .attrs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    match call(service, AxiRequest::SendMessage(attrs)).await? {
        AxiResponse::Done => Ok(SendMessageResp {}.into()),
        AxiResponse::Refused { code, bad, info } => Err(Refusal { code, bad, info }),
        other => Err(Refusal::new(
            ErrCode::EFailed,
            format!("unexpected answer {other:?}"),
        )),
    }
}

/// `ApplicationDataChannel ommId channel data` (data base64).
///
/// # Errors
/// `EMissing bad="ommId"`, `EInval bad="data"`, or why the OMM did not take it.
pub async fn data_channel(
    service: &Service,
    omm: Option<u32>,
    channel: String,
    data: String,
) -> Result<Message, Refusal> {
    let Some(omm) = omm else {
        return Err(
            Refusal::new(ErrCode::EMissing, "ommId names the OMM the data is for").bad("ommId"),
        );
    };
    if !is_base64(&data) {
        return Err(Refusal::inval("data", "data must be base64"));
    }
    match call(service, AxiRequest::SendData { omm, channel, data }).await? {
        AxiResponse::Done => Ok(ApplicationDataChannelResp {}.into()),
        AxiResponse::Error(why) => Err(Refusal::new(ErrCode::EFailed, why).bad("ommId")),
        other => Err(Refusal::new(
            ErrCode::EFailed,
            format!("unexpected answer {other:?}"),
        )),
    }
}

/// Whether `text` is standard, padded base64.
fn is_base64(text: &str) -> bool {
    let bytes = text.as_bytes();
    if bytes.len() % 4 != 0 {
        return false;
    }
    let body = text.trim_end_matches('=');
    text.len() - body.len() <= 2
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
}

#[cfg(test)]
mod tests {
    #[test]
    fn data_must_be_padded_base64() {
        for ok in ["", "AA==", "AAA=", "aGVsbG8h"] {
            assert!(super::is_base64(ok), "{ok}");
        }
        for bad in ["A", "AA=", "a b=", "AA==AA==", "AAA==="] {
            assert!(!super::is_base64(bad), "{bad}");
        }
    }
}
