//! A content as a sensor runs it: encoded by the writer, parsed by the parser and bound by the
//! sensor's one binder, each step failing the test with what went wrong.

use dcf_parser::Content;
use dcf_sensor::{Ruleset, SensorInterface};

/// `content` encoded, parsed and bound to `interface`: the bytes a sensor would receive, the
/// view it would parse and the ruleset its binder would build from them.
///
/// # Panics
///
/// When the writer, the parser or the binder refuses the content: a test that calls this
/// states that the content is one a sensor runs.
#[allow(clippy::panic)]
pub fn bound(content: &Content, interface: &SensorInterface) -> Ruleset {
    let bytes = content
        .encode()
        .unwrap_or_else(|e| panic!("the writer refuses the content: {e}"));
    let view = dcf_parser::parse(&bytes)
        .unwrap_or_else(|e| panic!("the parser refuses the written content: {e}"));
    dcf_sensor::bind(&view, interface)
        .into_result()
        .unwrap_or_else(|e| panic!("the sensor refuses the content: {e}"))
}
