//! The statistics counters the MOM keeps (admin guide, "Viewing system statistics"): each
//! one's name, the words the Statistics pane shows for it, and its kind. One list for the
//! web API (which shows every counter, zero before anything was counted) and the services
//! that count.

use serde::Serialize;

/// How a counter's value behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CounterKind {
    /// A total since it was last cleared.
    Total,
    /// The highest value seen since it was last cleared.
    HighWater,
    /// The current state (links up, say): it follows the system and cannot be cleared.
    Gauge,
}

/// One counter of the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CounterInfo {
    /// Its name, as the store keeps it.
    pub name: &'static str,
    /// What the Statistics pane calls it (the guide's words where the guide names it).
    pub label: &'static str,
    /// How its value behaves.
    pub kind: CounterKind,
}

const fn total(name: &'static str, label: &'static str) -> CounterInfo {
    CounterInfo {
        name,
        label,
        kind: CounterKind::Total,
    }
}

/// Every counter the MOM keeps, in the order the Statistics pane shows them: the guide's
/// MAXI and messaging counters first.
pub const CATALOGUE: &[CounterInfo] = &[
    total(
        "maxi.failed_connections",
        "MAXI: Total number of failed client connections",
    ),
    total("maxi.requests", "MAXI: Total number of client requests"),
    total(
        "maxi.failed_requests",
        "MAXI: Total number of failed requests",
    ),
    total(
        "maxi.events_sent",
        "MAXI: Total number of events sent to clients",
    ),
    total(
        "maxi.kbytes_received",
        "MAXI: Total number of data in Kbytes received from clients",
    ),
    total(
        "maxi.mbytes_sent",
        "MAXI: Total number of data in Mbytes sent to clients",
    ),
    CounterInfo {
        name: "maxi.max_parallel_clients",
        label: "MAXI: Maximal parallel client connections",
        kind: CounterKind::HighWater,
    },
    total(
        "maxi.send_message_requests",
        "Number of 'SendMessage' requests from MAXI clients",
    ),
    total(
        "axi.send_message_requests",
        "Number of 'SendMessage' requests from OMM",
    ),
    total("axi.messages_routed", "Messages delivered between sites"),
    total(
        "axi.messages_failed",
        "Messages that could not be delivered",
    ),
    total(
        "axi.roaming_handovers",
        "Handsets moved to the site they roamed to",
    ),
    total(
        "axi.records_synced",
        "User and DECT phone records synchronised with OMMs",
    ),
    CounterInfo {
        name: "axi.links_up",
        label: "OMM links up",
        kind: CounterKind::Gauge,
    },
];

/// The catalogue entry of counter `name`.
#[must_use]
pub fn info(name: &str) -> Option<&'static CounterInfo> {
    CATALOGUE.iter().find(|c| c.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_counter_is_listed_once_with_words_for_a_person() {
        for (i, c) in CATALOGUE.iter().enumerate() {
            assert!(
                CATALOGUE[i + 1..].iter().all(|d| d.name != c.name),
                "{} twice",
                c.name
            );
            assert!(
                !c.label.contains('_') && !c.label.contains("axi."),
                "{}",
                c.label
            );
        }
        assert_eq!(info("axi.links_up").unwrap().kind, CounterKind::Gauge);
        assert!(info("nope").is_none());
    }
}
