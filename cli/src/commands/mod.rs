//! One file per `dcf` command. Each takes the run's [`Ctx`](crate::context::Ctx) and its
//! parsed arguments and returns an [`Outcome`](crate::exit::Outcome): `?` carries any early
//! stop, with what it has to say, back to `main`.

pub mod compile;
pub mod compile_sigma;
pub mod decompile;
pub mod inspect;
pub mod keygen;
pub mod publish;
pub mod rollout;
pub mod scan;
pub mod sign;
pub mod test;
pub mod validate;
pub mod verify;
