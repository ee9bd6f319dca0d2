//! Target `flat_json`: any bytes, as a line, through the flat JSON event reader
//! (`dcf_events::flat_json`), the hand-written reader a sensor runs on every event. Never
//! panics; accepts exactly what serde_json reads as an object; an accepted line's fields are
//! those of a tree walk over serde_json's reading of it (names, dotted nesting, number and
//! array text); buffers reused from one line to the next read it the same way.

use dcf_events::flat_json::JsonBuffers;
use dcf_events::json_reference::{OwnedScalar, reference_fields};
use serde_json::Value;

/// The reader's fields of `line`, owned.
fn read(buffers: &mut JsonBuffers, line: &str) -> Option<Vec<(String, OwnedScalar)>> {
    let event = buffers.parse(line).ok()?;
    Some(
        event
            .fields()
            .map(|(name, value)| (name.to_string(), OwnedScalar::from(value)))
            .collect(),
    )
}

/// Runs one input; returns whether the reader accepted it.
pub fn flat_json_target(data: &[u8]) -> bool {
    let Ok(line) = std::str::from_utf8(data) else {
        return false;
    };
    let mut buffers = JsonBuffers::new();
    let ours = read(&mut buffers, line);
    // The same buffers again, now holding this line's own fields and text.
    assert!(
        read(&mut buffers, line) == ours,
        "reused buffers read the line differently"
    );
    let object = matches!(serde_json::from_str::<Value>(line), Ok(Value::Object(_)));
    assert!(
        ours.is_some() == object,
        "the reader {} a line serde_json {}",
        if ours.is_some() { "accepts" } else { "refuses" },
        if object {
            "reads as an object"
        } else {
            "refuses"
        }
    );
    if let Some(ours) = &ours {
        assert!(
            Some(ours) == reference_fields(line).as_ref(),
            "the reader's fields differ from the reference's"
        );
    }
    ours.is_some()
}
