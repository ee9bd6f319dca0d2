//! The event adapter: a Windows event as JSON (`{"Event": {"System": {...}, "EventData": {...}}}`,
//! the shape evtx converters produce) into named fields, then into the field array of a
//! template type.
//!
//! Field names follow the Sigma specification's rules for Windows events: an element of
//! `System` with a text value keeps its name (`EventID`, `Channel`, `Computer`); each XML
//! attribute of a `System` element is named `<element>_<attribute>` (`Provider_Name`,
//! `Security_UserID`, `Execution_ProcessID`); each named `EventData` item keeps its name; for
//! events that carry `UserData` instead, the items of its single child element are used.
//! Values keep their JSON type here; in a field array, numbers are their decimal text,
//! booleans `true`/`false`, `null` is [`dcf_sensor::Value::Null`], nested values are their
//! compact JSON text. A field of the template that the event does not have is
//! [`dcf_sensor::Value::Null`].

use dcf_sigma::logsource::SourceKey;
use serde_json::{Map, Value as Json};

use crate::named::{ATTRIBUTES, FlatEvent};

/// Why an event could not be adapted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdapterError(pub String);

impl core::fmt::Display for AdapterError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for AdapterError {}

/// A Windows event, adapted.
#[derive(Clone, Debug, PartialEq)]
pub struct WindowsEvent {
    /// `System.Channel`.
    pub channel: Option<String>,
    /// `System.Provider` `Name` attribute.
    pub provider: Option<String>,
    /// `System.EventID`.
    pub event_id: Option<i64>,
    /// Every field.
    pub flat: FlatEvent,
}

const TEXT: &str = "#text";

impl WindowsEvent {
    /// Adapts one event object.
    pub fn from_json(event: &Json) -> Result<WindowsEvent, AdapterError> {
        let root = event
            .get("Event")
            .and_then(Json::as_object)
            .ok_or_else(|| AdapterError("no `Event` object".to_string()))?;
        let system = root
            .get("System")
            .and_then(Json::as_object)
            .ok_or_else(|| AdapterError("no `Event.System` object".to_string()))?;
        let mut flat = FlatEvent::default();
        for (name, value) in system {
            match value {
                Json::Object(element) => {
                    if let Some(Json::Object(attrs)) = element.get(ATTRIBUTES) {
                        for (attr, v) in attrs {
                            flat.push(&format!("{name}_{attr}"), v.clone());
                        }
                    }
                    if let Some(text) = element.get(TEXT) {
                        flat.push(name, text.clone());
                    }
                }
                other => flat.push(name, other.clone()),
            }
        }
        if let Some(data) = root.get("EventData") {
            flat.push_items(data);
        } else if let Some(Json::Object(user)) = root.get("UserData") {
            for (name, child) in user {
                if name != ATTRIBUTES {
                    flat.push_items(child);
                }
            }
        }
        let text = |k: &str| system.get(k).and_then(Json::as_str).map(str::to_string);
        let event_id = match system.get("EventID") {
            Some(Json::Number(n)) => n.as_i64(),
            Some(Json::String(s)) => s.trim().parse().ok(),
            Some(Json::Object(o)) => o.get(TEXT).and_then(|t| match t {
                Json::Number(n) => n.as_i64(),
                Json::String(s) => s.trim().parse().ok(),
                _ => None,
            }),
            _ => None,
        };
        let provider = system
            .get("Provider")
            .and_then(|p| p.get(ATTRIBUTES))
            .and_then(|a| a.get("Name"))
            .and_then(Json::as_str)
            .map(str::to_string);
        Ok(WindowsEvent {
            channel: text("Channel"),
            provider,
            event_id,
            flat,
        })
    }

    /// The log source this event belongs to, when it can be told from the event itself:
    /// Sysmon events by event id (1 `process_creation`, 3 `network_connection`, 5
    /// `process_termination`, 6 `driver_load`, 7 `image_load`, 8 `create_remote_thread`, 9
    /// `raw_access_thread`, 10 `process_access`, 11 `file_event`, 12 `registry_add` (or
    /// `registry_delete` when its `EventType` is `DeleteKey` or `DeleteValue`), 13
    /// `registry_set`, 14 `registry_rename` (their union is `registry_event`), 15
    /// `create_stream_hash`, 17/18 `pipe_created`, 19/20/21 `wmi_event`, 22 `dns_query`, 23/26
    /// `file_delete`, 24 `clipboard_capture`, 25 `process_tampering`, 27/28 `file_block`, 29
    /// `file_executable_detected`, 4/16 `sysmon_status`, 255 `sysmon_error`); PowerShell 4103
    /// `ps_module`, 4104 `ps_script`, classic PowerShell 400 `ps_classic_start`, 600
    /// `ps_classic_provider_start`; any other channel by its service name (`Security` →
    /// `security`, `System` → `system`, `Application` → `application`,
    /// `Microsoft-Windows-TaskScheduler/Operational` → `taskscheduler`, and so on, see
    /// [`service_of_channel`]).
    pub fn route(&self) -> Option<SourceKey> {
        let windows = || "windows".to_string();
        let channel = self.channel.as_deref()?;
        let category = |c: &str| {
            Some(SourceKey::Category {
                product: windows(),
                category: c.to_string(),
            })
        };
        if channel == "Microsoft-Windows-Sysmon/Operational" {
            let c = match self.event_id? {
                1 => "process_creation",
                2 => "file_change",
                3 => "network_connection",
                4 | 16 => "sysmon_status",
                5 => "process_termination",
                6 => "driver_load",
                7 => "image_load",
                8 => "create_remote_thread",
                9 => "raw_access_thread",
                10 => "process_access",
                11 => "file_event",
                // SigmaHQ's `tests/thor.yml`: event 12 is a key created (`registry_add`) or a
                // key or value deleted (`registry_delete`), told apart by `EventType`.
                12 => match self.flat.get("EventType").and_then(Json::as_str) {
                    Some("DeleteKey" | "DeleteValue") => "registry_delete",
                    _ => "registry_add",
                },
                13 => "registry_set",
                14 => "registry_rename",
                15 => "create_stream_hash",
                17 | 18 => "pipe_created",
                19..=21 => "wmi_event",
                22 => "dns_query",
                23 | 26 => "file_delete",
                24 => "clipboard_capture",
                25 => "process_tampering",
                27 | 28 => "file_block",
                29 => "file_executable_detected",
                255 => "sysmon_error",
                _ => return None,
            };
            return category(c);
        }
        if channel == "Microsoft-Windows-PowerShell/Operational" {
            match self.event_id? {
                4103 => return category("ps_module"),
                4104 => return category("ps_script"),
                _ => {}
            }
        }
        if channel == "Windows PowerShell" {
            match self.event_id? {
                400 => return category("ps_classic_start"),
                600 => return category("ps_classic_provider_start"),
                _ => {}
            }
        }
        Some(SourceKey::Service {
            product: windows(),
            service: service_of_channel(channel)?.to_string(),
        })
    }
}

impl WindowsEvent {
    /// Every log source this event belongs to, most specific first: what a sensor delivers it
    /// to. [`WindowsEvent::route`]'s log source; for a Sysmon event also the `sysmon` service;
    /// for a registry add, delete, set or rename also their union `registry_event`; and always the
    /// product `windows` alone (rules that name only the product apply to all its events).
    pub fn routes(&self) -> Vec<SourceKey> {
        let windows = || "windows".to_string();
        let mut out = Vec::with_capacity(4);
        if let Some(key) = self.route() {
            if let SourceKey::Category { category, .. } = &key
                && matches!(
                    category.as_str(),
                    "registry_add" | "registry_delete" | "registry_set" | "registry_rename"
                )
            {
                out.push(key.clone());
                out.push(SourceKey::Category {
                    product: windows(),
                    category: "registry_event".to_string(),
                });
            } else {
                out.push(key);
            }
        }
        if self.channel.as_deref() == Some("Microsoft-Windows-Sysmon/Operational") {
            out.push(SourceKey::Service {
                product: windows(),
                service: "sysmon".to_string(),
            });
        }
        out.push(SourceKey::Product { product: windows() });
        out
    }

    /// An event given as one flat JSON object (`{"EventID": 1, "Channel": "...", "Image":
    /// ...}`, the shape SIEMs and most converters emit): its fields as they are, its channel,
    /// provider (`Provider_Name`) and event id read from them.
    pub fn from_flat_json(object: &Map<String, Json>) -> WindowsEvent {
        let flat = FlatEvent::from_json_object(object);
        let text = |k: &str| flat.get(k).and_then(Json::as_str).map(str::to_string);
        let event_id = match flat.get("EventID") {
            Some(Json::Number(n)) => n.as_i64(),
            Some(Json::String(s)) => s.trim().parse().ok(),
            _ => None,
        };
        WindowsEvent {
            channel: text("Channel"),
            provider: text("Provider_Name"),
            event_id,
            flat,
        }
    }
}

/// The Sigma service name of a Windows event log channel (the channels of SigmaHQ's Windows
/// services).
pub fn service_of_channel(channel: &str) -> Option<&'static str> {
    Some(match channel {
        "Security" => "security",
        "System" => "system",
        "Application" => "application",
        "Microsoft-Windows-Sysmon/Operational" => "sysmon",
        "Microsoft-Windows-PowerShell/Operational" => "powershell",
        "Windows PowerShell" => "powershell-classic",
        "Microsoft-Windows-TaskScheduler/Operational" => "taskscheduler",
        "Microsoft-Windows-WMI-Activity/Operational" => "wmi",
        "Microsoft-Windows-Windows Defender/Operational" => "windefend",
        "Microsoft-Windows-CodeIntegrity/Operational" => "codeintegrity-operational",
        "Microsoft-Windows-Bits-Client/Operational" => "bits-client",
        "Microsoft-Windows-Windows Firewall With Advanced Security/Firewall" => "firewall-as",
        "Microsoft-Windows-DNS-Client/Operational" => "dns-client",
        "DNS Server" => "dns-server",
        "Microsoft-Windows-AppXDeploymentServer/Operational" => "appxdeployment-server",
        "Microsoft-Windows-AppxPackaging/Operational" => "appxpackaging-om",
        "Microsoft-Windows-NTLM/Operational" => "ntlm",
        "Microsoft-Windows-TerminalServices-LocalSessionManager/Operational" => {
            "terminalservices-localsessionmanager"
        }
        "Microsoft-Windows-Shell-Core/Operational" => "shell-core",
        "Microsoft-Windows-SmbClient/Security" => "smbclient-security",
        "Microsoft-Windows-SmbClient/Connectivity" => "smbclient-connectivity",
        "Microsoft-Windows-SMBServer/Connectivity" => "smbserver-connectivity",
        "Microsoft-Windows-Security-Mitigations/KernelMode"
        | "Microsoft-Windows-Security-Mitigations/UserMode" => "security-mitigations",
        "Microsoft-Windows-Diagnosis-Scripted/Operational" => "diagnosis-scripted",
        "Microsoft-Windows-LDAP-Client/Debug" => "ldap",
        "OpenSSH/Operational" => "openssh",
        "Microsoft-Windows-BitLocker/BitLocker Management" => "bitlocker",
        "Microsoft-Windows-PrintService/Admin" => "printservice-admin",
        "Microsoft-Windows-PrintService/Operational" => "printservice-operational",
        "Microsoft-Windows-DriverFrameworks-UserMode/Operational" => "driver-framework",
        "MSExchange Management" => "msexchange-management",
        "Microsoft-Windows-AppLocker/EXE and DLL"
        | "Microsoft-Windows-AppLocker/MSI and Script"
        | "Microsoft-Windows-AppLocker/Packaged app-Deployment"
        | "Microsoft-Windows-AppLocker/Packaged app-Execution" => "applocker",
        "Microsoft-Windows-VHDMP/Operational" => "vhdmp",
        "Microsoft-Windows-LSA/Operational" => "lsa-server",
        "Microsoft-Windows-AppModel-Runtime/Admin" => "appmodel-runtime",
        "Microsoft-Windows-CAPI2/Operational" => "capi2",
        "Microsoft-Windows-CertificateServicesClient-Lifecycle-System/Operational" => {
            "certificateservicesclient-lifecycle-system"
        }
        "Microsoft-ServiceBus-Client" => "microsoft-servicebus-client",
        "Microsoft-IIS-Configuration/Operational" => "iis-configuration",
        _ => return None,
    })
}

/// Splits a stream of concatenated JSON values (the regression data's `.json` files).
pub fn json_stream(text: &str) -> Result<Vec<Json>, AdapterError> {
    serde_json::Deserializer::from_str(text)
        .into_iter::<Json>()
        .collect::<Result<_, _>>()
        .map_err(|e| AdapterError(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::OwnedValue;
    use dcf_sensor::TemplateInterface;
    use serde_json::json;

    #[test]
    fn windows_event_fields_and_routing() {
        let e = WindowsEvent::from_json(&json!({"Event": {
            "System": {
                "Provider": {"#attributes": {"Name": "Microsoft-Windows-Sysmon"}},
                "EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational",
                "Security": {"#attributes": {"UserID": "S-1-5-18"}},
                "Correlation": null
            },
            "EventData": {"Image": "C:\\x.exe", "ProcessId": 42, "Flag": true}
        }}))
        .unwrap();
        assert_eq!(e.event_id, Some(1));
        assert_eq!(e.provider.as_deref(), Some("Microsoft-Windows-Sysmon"));
        assert_eq!(
            e.flat.get("Provider_Name"),
            Some(&json!("Microsoft-Windows-Sysmon"))
        );
        assert_eq!(e.flat.get("Security_UserID"), Some(&json!("S-1-5-18")));
        assert_eq!(
            e.route().unwrap().template_name(),
            "windows.process_creation"
        );
        let t = TemplateInterface {
            id: 1,
            name: "t".into(),
            fields: ["Image", "ProcessId", "Flag", "Missing", "Correlation"]
                .iter()
                .map(|n| dcf_sensor::FieldInterface {
                    name: n.to_string(),
                    kind: dcf_parser::FieldType::String,
                    max_len: None,
                })
                .collect(),
        };
        assert_eq!(
            e.flat.project(&t),
            vec![
                OwnedValue::Str("C:\\x.exe".into()),
                OwnedValue::Str("42".into()),
                OwnedValue::Str("true".into()),
                OwnedValue::Null,
                OwnedValue::Null
            ]
        );
    }

    #[test]
    fn user_data_and_streams() {
        let events = json_stream(
            r##"{"Event": {"System": {"Channel": "Microsoft-Windows-WMI-Activity/Operational", "EventID": 5858},
                "UserData": {"Op": {"#attributes": {"xmlns": "x"}, "Operation": "a"}}}}
               {"Event": {"System": {"Channel": "Security", "EventID": 4648}}}"##,
        )
        .unwrap();
        assert_eq!(events.len(), 2);
        let e = WindowsEvent::from_json(&events[0]).unwrap();
        assert_eq!(e.flat.get("Operation"), Some(&json!("a")));
        assert!(e.flat.get("xmlns").is_none());
        assert_eq!(e.route().unwrap().template_name(), "windows.service.wmi");
        let s = WindowsEvent::from_json(&events[1]).unwrap();
        assert_eq!(
            s.route().unwrap().template_name(),
            "windows.service.security"
        );
    }

    #[test]
    fn event_data_names_lose_their_spaces_as_sigma_rules_spell_them() {
        let e = WindowsEvent::from_json(&json!({"Event": {
            "System": {"EventID": 1116, "Channel": "Microsoft-Windows-Windows Defender/Operational"},
            "EventData": {"Threat Name": "Trojan:Win32/X", "Process Name": "C:\\a.exe", "Source Name": "Real-Time"}
        }}))
        .unwrap();
        assert_eq!(e.flat.get("ThreatName"), Some(&json!("Trojan:Win32/X")));
        assert_eq!(e.flat.get("ProcessName"), Some(&json!("C:\\a.exe")));
        assert_eq!(e.flat.get("SourceName"), Some(&json!("Real-Time")));
        assert!(e.flat.get("Threat_20Name").is_none());
    }

    #[test]
    fn sysmon_event_12_is_routed_by_its_event_type() {
        let of = |event_type: &str| {
            let e = WindowsEvent::from_json(&json!({"Event": {
                "System": {"EventID": 12, "Channel": "Microsoft-Windows-Sysmon/Operational"},
                "EventData": {"EventType": event_type, "TargetObject": "HKLM\\x"}
            }}))
            .unwrap();
            e.routes()
                .iter()
                .map(|k| k.template_name())
                .collect::<Vec<_>>()
        };
        for deleted in ["DeleteKey", "DeleteValue"] {
            let routes = of(deleted);
            assert_eq!(routes[0], "windows.registry_delete", "{deleted}");
            assert!(routes.contains(&"windows.registry_event".to_string()));
        }
        let created = of("CreateKey");
        assert_eq!(created[0], "windows.registry_add");
        assert!(created.contains(&"windows.registry_event".to_string()));
        assert!(!created.contains(&"windows.registry_delete".to_string()));
    }
}
