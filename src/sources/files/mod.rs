//! Archived request logs: files, directories (recursive), stdin, and
//! objects under S3, Google Cloud Storage and Azure prefixes (`object/`).
//! [`expand`] turns the arguments into [`Input`]s, the files and objects
//! found under a directory or prefix as the [`Selection`] keeps them; a
//! [`Reader`] opens each in turn — a plain file mapped, anything else read
//! (an object from what the fetch thread fetched ahead) and decompressed
//! — and sends [`Chunk`]s of whole lines with their origin: the input's
//! index and the number of its first line, counted by the reader or, for
//! mapped files, following from the [`Ledger`] once the consumers count
//! the lines before it. A consumer hands each chunk back ([`Chunk::done`])
//! so its buffer returns to the [`BufferPool`] or its pages leave memory.

mod compression;
mod input;
mod ledger;
mod mapped;
mod mapping;
pub mod object;
mod reader;
mod select;

pub use compression::open_decompressed;
pub use input::{expand, BufferPool, Chunk, FirstLine, Input, InputError};
pub use ledger::{AbandonOnPanic, Ledger};
pub use object::{
    AzureSettings, Fetched, GcsSettings, ObjectRef, Remote, S3Settings, StoreSettings,
};
pub use reader::Reader;
pub use select::Selection;
