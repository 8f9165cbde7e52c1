//! IPEI and IPUI: a handset's equipment identity and the portable user identity (type N)
//! derived from it.
//!
//! An IPUI of type N is 40 bits: the type nibble 0, the 16-bit EMC and the 20-bit PSN of the
//! IPEI, written as 10 hexadecimal digits. The reference's example: IPEI 03074 0220259 has
//! EMC 3074 = 0xC02 and PSN 220259 = 0x35C63, so its IPUI-N is `00C0235C63`.

use model::Ipei;

/// The IPUI-N of `ipei` as 10 upper-case hexadecimal digits.
#[must_use]
pub fn ipui_n(ipei: Ipei) -> String {
    format!("0{:04X}{:05X}", ipei.emc, ipei.psn)
}

/// The IPEI inside an IPUI-N; `None` for another IPUI type or malformed text.
#[must_use]
pub fn ipei_from_ipui_n(ipui: &str) -> Option<Ipei> {
    if ipui.len() != 10 || !ipui.bytes().all(|b| b.is_ascii_hexdigit()) || !ipui.starts_with('0') {
        return None;
    }
    let emc = u32::from_str_radix(&ipui[1..5], 16).ok()?;
    let psn = u32::from_str_radix(&ipui[5..], 16).ok()?;
    Ipei::new(emc, psn).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reference_example_converts_both_ways() {
        let ipei = Ipei::new(3074, 220_259).unwrap();
        assert_eq!(ipui_n(ipei), "00C0235C63");
        assert_eq!(ipei_from_ipui_n("00C0235C63"), Some(ipei));
        assert_eq!(ipei_from_ipui_n("00c0235c63"), Some(ipei));
        assert_eq!(ipei_from_ipui_n("10C0235C63"), None);
        assert_eq!(ipei_from_ipui_n("00C0235C6"), None);
    }
}
