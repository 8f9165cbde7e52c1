//! `sip-dect-mom device ...`: the "DECT phones" pane for scripts.

use crate::client::{fail, json, write};
use crate::pages::{paged, Pages};
use clap::Subcommand;
use model::{Device, Ipei, Query, RelType};
use std::path::Path;

/// `sip-dect-mom device ...`
#[derive(Debug, Subcommand)]
pub enum DeviceAction {
    /// List handsets with their location.
    List {
        /// Which rows.
        #[command(flatten)]
        pages: Pages,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Add an unbound handset record.
    Add {
        /// IPEI (`EEEEE PPPPPPP C`).
        #[arg(long)]
        ipei: String,
        /// OMM where the record is created.
        #[arg(long, default_value_t = 0)]
        omm: u32,
    },
    /// Unsubscribe a handset (relation type Fixed only): removed from its OMM and the MOM.
    Unsubscribe {
        /// Handset id (PPN).
        ppn: u32,
    },
    /// Delete a handset record.
    Delete {
        /// Device id (ppn).
        ppn: u32,
    },
}

/// Runs a `device` subcommand.
pub async fn device(socket: &Path, action: &DeviceAction) -> i32 {
    match action {
        DeviceAction::List {
            pages,
            json: as_json,
        } => {
            let found = paged(socket, pages, Query::default(), |store, q| {
                Box::pin(store.query_devices(q))
            })
            .await;
            match found {
                Ok((items, _)) if *as_json => json(&items),
                Ok((items, total)) => {
                    println!(
                        "{:>6} {:<16} {:>5} {:>6} {:<8} {:<12}",
                        "PPN", "IPEI", "OMM", "UID", "RELTYPE", "SUBSCRIBED"
                    );
                    for d in &items {
                        println!(
                            "{:>6} {:<16} {:>5} {:>6} {:<8} {:<12}",
                            d.ppn,
                            d.ipei.to_string(),
                            d.location,
                            d.uid,
                            format!("{:?}", d.rel_type),
                            format!("{:?}", d.s)
                        );
                    }
                    println!("{} of {total} handsets", items.len());
                    0
                }
                Err(e) => fail(&e),
            }
        }
        DeviceAction::Add { ipei, omm } => {
            let ipei = match Ipei::parse(ipei) {
                Ok(i) => i,
                Err(e) => return fail(&format!("invalid IPEI: {e}")),
            };
            let device = Device {
                location: *omm,
                rel_type: RelType::Unbound,
                timestamp: model::now(),
                ..Device::new(ipei)
            };
            write(
                socket,
                |store| Box::pin(async move { store.put_device(device).await }),
                |ppn| format!("handset {ppn} created"),
            )
            .await
        }
        DeviceAction::Unsubscribe { ppn } => {
            let id = *ppn;
            write(
                socket,
                |store| Box::pin(async move { store.unsubscribe_device(id).await }),
                |()| format!("handset {ppn} unsubscribed and removed from its OMM"),
            )
            .await
        }
        DeviceAction::Delete { ppn } => {
            let id = *ppn;
            write(
                socket,
                |store| Box::pin(async move { store.delete_device(id).await }),
                |()| format!("handset {ppn} deleted"),
            )
            .await
        }
    }
}
