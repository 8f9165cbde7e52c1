use super::*;

fn predefined() -> Predefined {
    Predefined {
        mom_ip_addr: "192.0.2.5".into(),
        mom_web_https_port: 443,
        cloud_id: "00-1F10289D85".into(),
        username: "omm".into(),
        password: "se\"cret&<x>".into(),
    }
}

#[test]
fn the_guides_examples_render_as_it_says() {
    let (file, errors) = PlaceholderFile::parse(
        "DECTRegDomain_regDomain=EMEA\r\n\r\n# SIP\r\nBasicSIP_proxyServer=10.103.35.70\r\nBasicSIP_outboundProxyServer=\r\nBeginComment=<!--\r\nEndComment=-->\r\n",
    );
    assert_eq!(errors, vec![]);
    let template = "<SetDECTRegDomain regDomain=\"%DECTRegDomain_regDomain%\" />\n%BeginComment%\n<SetDECTRegDomain regDomain=\"EMEA\">\n%EndComment%\n<SetBasicSIP proxyServer=\"%BasicSIP_proxyServer%\" outboundProxyServer=\"%BasicSIP_outboundProxyServer%\" />\n";
    let out = render(template, &file, &predefined());
    assert_eq!(
        out.text,
        "<SetDECTRegDomain regDomain=\"EMEA\" />\n<!--\n<SetDECTRegDomain regDomain=\"EMEA\">\n-->\n<SetBasicSIP proxyServer=\"10.103.35.70\" outboundProxyServer=\"\" />\n"
    );
    assert!(out.unresolved.is_empty());
}

#[test]
fn unknown_placeholders_stay_names_are_case_sensitive_and_values_may_hold_equals() {
    let (file, _) = PlaceholderFile::parse("Key=a=b==c\nkey2=\n");
    let out = render(
        "%Key% %key% %KEY% %key2%|%Missing% %Missing%",
        &file,
        &predefined(),
    );
    assert_eq!(out.text, "a=b==c %key% %KEY% |%Missing% %Missing%");
    assert_eq!(out.unresolved, vec!["key", "KEY", "Missing"]);
}

#[test]
fn predefined_placeholders_come_from_the_mom_escaped_never_from_the_file() {
    let (file, errors) = PlaceholderFile::parse("MOM_IP_ADDR=10.0.0.1\nMDB_OMM_password=x\n");
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(errors[0].to_string().contains("set by the MOM"));
    let out = render(
        "<url host=\"%MOM_IP_ADDR%\" port=\"%MOM_WEB_HTTPS_PORT%\" path=\"omm_files/Cloud-ID-%MDB_OMM_cloud_id%\" user=\"%MDB_OMM_username%\" password=\"%MDB_OMM_password%\"/>",
        &file,
        &predefined(),
    );
    assert_eq!(
        out.text,
        "<url host=\"192.0.2.5\" port=\"443\" path=\"omm_files/Cloud-ID-00-1F10289D85\" user=\"omm\" password=\"se&quot;cret&amp;&lt;x&gt;\"/>"
    );
}

#[test]
fn the_rest_of_the_template_is_kept_byte_for_byte() {
    let (file, _) = PlaceholderFile::parse("a=1\n");
    let template = "<SetX cloudId=\"00-1\" v=\"100%\" w=\"%%\" x=\"%a b%\" y=\"50% of %a%\"/>\r\n\tünïcode %\n";
    let out = render(template, &file, &predefined());
    assert_eq!(
        out.text,
        "<SetX cloudId=\"00-1\" v=\"100%\" w=\"%%\" x=\"%a b%\" y=\"50% of 1\"/>\r\n\tünïcode %\n"
    );
    assert_eq!(render("", &file, &predefined()).text, "");
}

#[test]
fn bad_lines_are_reported_with_their_number_and_skipped() {
    let (file, errors) = PlaceholderFile::parse(
        "ok=1\nno equals sign\n bad name=2\n=3\nok=again\n  # indented comment\n",
    );
    assert_eq!(file.get("ok"), Some("1"));
    let lines: Vec<usize> = errors.iter().map(|e| e.line).collect();
    assert_eq!(lines, vec![2, 3, 4, 5]);
    assert!(errors[3].reason.contains("twice"));
    assert_eq!(file.names().collect::<Vec<_>>(), vec!["ok"]);
}

#[test]
fn a_value_with_a_control_character_is_refused_with_its_line() {
    let (file, errors) = PlaceholderFile::parse("A=tab\tis fine\nB=bell\u{7}\r\nC=nul\0\n");
    assert_eq!(file.get("A"), Some("tab\tis fine"));
    let lines: Vec<usize> = errors.iter().map(|e| e.line).collect();
    assert_eq!(lines, [2, 3], "{errors:?}");
    assert!(errors[0].reason.contains("control character"));
    assert_eq!(file.get("B"), None);
}
