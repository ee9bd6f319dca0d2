//! The owned model of a content (feature `alloc`), decoded from a [`ContentView`].
//!
//! The model holds exactly what the file says and nothing the encoding decides: strings are
//! inline (the writer interns them), template references are ids (the writer maps them to
//! indexes), ranges are implicit (the writer lays them out). That is what makes the encoding
//! canonical: `decode(encode(c)) == c` and `encode(decode(b)) == b`.

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use crate::error::Error;
use crate::format::{KEY_ID_LEN, SIGNATURE_LEN};
use crate::frame::Header;
use crate::types::{Action, FieldType, Node, RuleId, Severity};
use crate::view::{ContentView, ValueList, parse};

/// A whole content: header, declared interface, rules.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Content {
    /// Header fields.
    pub header: Header,
    /// The declared interface: every template type the rules use, sorted by id.
    pub templates: Vec<Template>,
    /// The rules, sorted by id.
    pub rules: Vec<Rule>,
    /// Sections of a later minor version, kept byte for byte (sorted by tag).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Vec::is_empty")
    )]
    pub extensions: Vec<Extension>,
    /// The signature block, if the content is signed.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub signature: Option<Signature>,
}

/// A template type the content was compiled against.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Template {
    /// Template type id.
    pub id: u32,
    /// Name, for diagnostics.
    pub name: String,
    /// The input fields, in index order.
    pub fields: Vec<Field>,
}

/// One declared input field.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Field {
    /// Field name.
    pub name: String,
    /// Field type.
    #[cfg_attr(feature = "serde", serde(rename = "type"))]
    pub kind: FieldType,
}

/// A rule (template instance).
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Rule {
    /// Rule id.
    pub id: RuleId,
    /// Id of the rule's template type; it must be declared in [`Content::templates`].
    pub template: u32,
    /// Title.
    pub title: String,
    /// Author.
    pub author: String,
    /// Severity.
    pub severity: Severity,
    /// Action on match.
    pub action: Action,
    /// Attributes (references, tags, description, ...), in order.
    pub attributes: Vec<Attribute>,
    /// The detection expression, in postfix order.
    pub expression: Vec<Node<Vec<String>>>,
}

/// A rule attribute. Well-known keys: `reference`, `tag`, `description`, `status`, `date`,
/// `modified`, `falsepositive`, `license`, `source`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Attribute {
    /// Key.
    pub key: String,
    /// Value.
    pub value: String,
}

/// A section of a later minor version, unknown to this reader.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Extension {
    /// Section tag.
    pub tag: u32,
    /// Payload bytes.
    pub payload: Vec<u8>,
}

/// A signature block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Signature {
    /// Id of the signing key.
    pub key_id: [u8; KEY_ID_LEN],
    /// Ed25519 signature of the signed message.
    pub signature: [u8; SIGNATURE_LEN],
}

impl Content {
    /// Parses and checks `bytes`, then copies the content into the owned model.
    pub fn decode(bytes: &[u8]) -> Result<Content, Error> {
        Ok(Content::from_view(&parse(bytes)?))
    }

    /// Copies a validated view into the owned model.
    pub fn from_view(view: &ContentView<'_>) -> Content {
        let templates = view
            .templates()
            .map(|t| Template {
                id: t.id,
                name: t.name.to_string(),
                fields: t
                    .fields()
                    .map(|f| Field {
                        name: f.name.to_string(),
                        kind: f.kind,
                    })
                    .collect(),
            })
            .collect();
        let rules = view
            .rules()
            .map(|r| Rule {
                id: r.id,
                template: r.template.id,
                title: r.title.to_string(),
                author: r.author.to_string(),
                severity: r.severity,
                action: r.action,
                attributes: r
                    .attributes()
                    .map(|(key, value)| Attribute {
                        key: key.to_string(),
                        value: value.to_string(),
                    })
                    .collect(),
                expression: r.expression().map(|n| owned_node(&n)).collect(),
            })
            .collect();
        Content {
            header: *view.header(),
            templates,
            rules,
            extensions: view
                .extensions()
                .map(|s| Extension {
                    tag: s.tag,
                    payload: s.payload.to_vec(),
                })
                .collect(),
            signature: view.signature().map(|s| Signature {
                key_id: *s.key_id,
                signature: *s.signature,
            }),
        }
    }

    /// The template type with id `id`.
    pub fn template(&self, id: u32) -> Option<&Template> {
        self.templates.iter().find(|t| t.id == id)
    }

    /// Sorts templates and rules by id, the order the format requires.
    pub fn sort(&mut self) {
        self.templates.sort_by_key(|t| t.id);
        self.rules.sort_by_key(|r| r.id);
        self.extensions.sort_by_key(|e| e.tag);
    }
}

fn owned_node(node: &Node<ValueList<'_>>) -> Node<Vec<String>> {
    node.clone()
        .map_values(|list| list.iter().map(ToString::to_string).collect())
}
