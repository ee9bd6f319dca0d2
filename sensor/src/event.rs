//! Events as a sensor supplies them: a template type and the array of its field values.

use core::net::IpAddr;

/// One field value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Value<'a> {
    /// No value: the field is absent or null for this event.
    Null,
    /// Text.
    Str(&'a str),
    /// Integer.
    Int(i64),
    /// IP address.
    Ip(IpAddr),
}

/// One event: the template type and the field array, indexed as in the sensor's interface.
#[derive(Clone, Copy, Debug)]
pub struct Event<'a> {
    /// Template type id.
    pub template: u32,
    /// Field values, by index.
    pub fields: &'a [Value<'a>],
}

impl<'a> Event<'a> {
    /// The value of field `index`; `None` past the end of the array. Every field read of the
    /// interpreter goes through here.
    pub fn get(&self, index: u16) -> Option<&Value<'a>> {
        self.fields.get(usize::from(index))
    }
}
