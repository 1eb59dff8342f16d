//! Files received while they arrive: each upload is written, chunk by
//! chunk, to a temporary file beside the evidence store and hashed on the
//! way, so a request holds a bounded buffer in memory whatever the file's
//! size. A staged file that is not kept is deleted when dropped (an error,
//! a refused form, a client that went away).

use std::io::Write;
use std::path::PathBuf;

use sha2::{Digest, Sha256};
use tempfile::{NamedTempFile, TempPath};

use super::Ctx;
use crate::error::AppError;

/// Bytes gathered before they are written out in one blocking call.
const FLUSH_AT: usize = 256 * 1024;
/// Bytes kept from the start of a file, to recognise its kind by content.
const HEAD: usize = 8 * 1024;

/// A file received in full: where it waits, its SHA-256 and size, and its
/// first bytes.
#[derive(Debug)]
pub struct Staged {
    pub sha256: String,
    pub size: u64,
    pub head: Vec<u8>,
    pub(crate) path: TempPath,
}

/// A file being received.
pub struct Stager {
    file: Option<NamedTempFile>,
    hasher: Sha256,
    size: u64,
    head: Vec<u8>,
    buf: Vec<u8>,
}

/// The folder staged files wait in: inside the evidence folder, so keeping
/// one is a rename on the same file system.
pub(crate) fn folder(ctx: &Ctx) -> PathBuf {
    ctx.settings.data_dir.join("evidence").join(".incoming")
}

fn io(what: &'static str) -> impl FnOnce(std::io::Error) -> AppError {
    move |e| AppError::internal(what, e)
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T, AppError> + Send + 'static) -> Result<T, AppError> {
    actix_web::web::block(f)
        .await
        .map_err(|e| AppError::internal("blocking task was cancelled", anyhow::anyhow!(e.to_string())))?
}

impl Stager {
    pub async fn new(ctx: &Ctx) -> Result<Stager, AppError> {
        let dir = folder(ctx);
        let file = blocking(move || {
            std::fs::create_dir_all(&dir).map_err(io("cannot create the folder for uploads"))?;
            tempfile::Builder::new()
                .prefix("upload-")
                .tempfile_in(&dir)
                .map_err(io("cannot create a file for an upload"))
        })
        .await?;
        Ok(Stager {
            file: Some(file),
            hasher: Sha256::new(),
            size: 0,
            head: Vec::new(),
            buf: Vec::with_capacity(FLUSH_AT),
        })
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// Takes the next chunk; writes out what has gathered once it is big
    /// enough.
    pub async fn push(&mut self, chunk: &[u8]) -> Result<(), AppError> {
        self.hasher.update(chunk);
        self.size += chunk.len() as u64;
        if self.head.len() < HEAD {
            let take = (HEAD - self.head.len()).min(chunk.len());
            self.head.extend_from_slice(&chunk[..take]);
        }
        self.buf.extend_from_slice(chunk);
        if self.buf.len() >= FLUSH_AT {
            self.flush().await?;
        }
        Ok(())
    }

    async fn flush(&mut self) -> Result<(), AppError> {
        let (Some(mut file), buf) = (self.file.take(), std::mem::take(&mut self.buf)) else {
            return Err(AppError::internal("upload", anyhow::anyhow!("written after an error")));
        };
        let (file, mut buf) = blocking(move || {
            file.write_all(&buf).map_err(io("cannot write an upload"))?;
            Ok((file, buf))
        })
        .await?;
        buf.clear();
        self.file = Some(file);
        self.buf = buf;
        Ok(())
    }

    /// The file, complete and durable on disk.
    pub async fn finish(mut self) -> Result<Staged, AppError> {
        self.flush().await?;
        let Some(file) = self.file.take() else {
            return Err(AppError::internal("upload", anyhow::anyhow!("finished after an error")));
        };
        let path = blocking(move || {
            file.as_file().sync_all().map_err(io("cannot write an upload"))?;
            Ok(file.into_temp_path())
        })
        .await?;
        Ok(Staged {
            sha256: format!("{:x}", self.hasher.finalize()),
            size: self.size,
            head: self.head,
            path,
        })
    }
}

impl Staged {
    /// The whole file, for a reader that needs it in memory (a spreadsheet,
    /// bounded by the upload's limits).
    pub async fn read_all(&self) -> Result<Vec<u8>, AppError> {
        let path = self.path.to_path_buf();
        blocking(move || std::fs::read(&path).map_err(io("cannot read an upload"))).await
    }
}
