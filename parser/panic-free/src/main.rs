//! Link-time proof that the parser's entry points cannot panic.
//!
//! Built in release for `x86_64-unknown-none` (`parser/panic-free/check.sh`): the panic handler
//! calls `dcf_parser_entry_point_can_panic`, which is defined nowhere. After optimisation, a
//! panic path that LLVM cannot prove unreachable keeps a reference to it and the link fails,
//! naming the symbol. A successful link means no panic is reachable from the entry points
//! below, for any input: `parse`, the staged `Frame::read` → `verify_digest` → `parse_body`,
//! iteration over everything the view exposes, and the `layout` byte map.
#![no_std]
#![no_main]

use core::hint::black_box;

use dcf_parser::{Frame, Node, Operand, layout, parse};

unsafe extern "C" {
    /// Deliberately undefined: referenced only if a panic can happen.
    fn dcf_parser_entry_point_can_panic() -> !;
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    // SAFETY: never called in a successful link; a reference to it fails the link.
    unsafe { dcf_parser_entry_point_can_panic() }
}

/// Reads every part of a validated view, so that iteration is covered by the proof too.
fn touch(bytes: &[u8]) -> u64 {
    let mut acc = 0u64;
    if let Ok(view) = parse(bytes) {
        for template in view.templates() {
            acc ^= u64::from(template.id);
            for field in template.fields() {
                acc ^= field.name.len() as u64;
            }
        }
        for rule in view.rules() {
            acc ^= rule.title.len() as u64 ^ rule.author.len() as u64;
            for (key, value) in rule.attributes() {
                acc ^= (key.len() ^ value.len()) as u64;
            }
            for node in rule.expression() {
                if let Node::Match(m) = &node
                    && let Operand::Values(values) = &m.operand
                {
                    for v in values.iter() {
                        acc ^= v.len() as u64;
                    }
                }
                acc ^= u64::from(node.pops());
            }
        }
        for s in view.strings().iter() {
            acc ^= s.len() as u64;
        }
        for section in view.sections() {
            acc ^= u64::from(section.tag);
        }
    }
    if let Ok(frame) = Frame::read(bytes)
        && let Ok(verified) = frame.verify_digest()
        && let Ok(view) = verified.parse_body()
    {
        acc ^= view.rule_count() as u64;
    }
    layout::walk(bytes, |span| acc ^= span.offset as u64);
    #[cfg(feature = "self-test")]
    {
        // A bounds check the optimiser cannot remove: the link must fail.
        let table = [1u64, 2, 3];
        acc ^= table[black_box(bytes.len())];
    }
    acc
}

/// The input comes from memory the optimiser cannot see through.
static mut INPUT: [u8; 4096] = [0; 4096];

#[unsafe(no_mangle)]
pub extern "C" fn _start() -> ! {
    // SAFETY: single-threaded entry point; the buffer is only read.
    let input: &[u8] = unsafe { &*core::ptr::addr_of!(INPUT) };
    let len = black_box(input.len());
    black_box(touch(input.get(..len).unwrap_or_default()));
    loop {
        core::hint::spin_loop();
    }
}
