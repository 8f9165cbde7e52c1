//! What the OMMs fetch from the MOM (admin guide "Centralized system provisioning"):
//! - [`config_file`]: `ipdect.cfg`, generated for the OMM that asks, at the path svc-axi
//!   sets as its configuration URL;
//! - `/resources/…`: common files, without credentials;
//! - `/omm_files/Cloud-ID-<cloud-id>/…`: one OMM's folder, read and written (`PUT` of
//!   backups and dumps) with that OMM's credentials only;
//! - [`folders`]: the confinement of both folders, [`serve`]: ranges and
//!   `If-Modified-Since`, [`omm_auth`]: the OMMs' credentials and their throttle.
//!
//! These routes are for OMMs, not administrators, so they are not in the OpenAPI document;
//! administrators manage the folders through `crate::api::provisioning`.

pub mod config_file;
pub mod folders;
pub mod omm_auth;
pub mod serve;

use crate::app::App;
use crate::error::{ApiError, ApiResult};
use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use folders::{FileError, Folder, RelPath};
use futures_util::StreamExt;
use std::net::SocketAddr;
use std::sync::Arc;

/// An OMM's folder holds at most this many times the largest upload.
pub const OMM_FOLDER_FILES: u64 = 8;

/// The address of the MOM that a connection reached (its local end), put into every
/// request's extensions by the server: what `%MOM_IP_ADDR%` becomes.
#[derive(Debug, Clone, Copy)]
pub struct LocalAddr(pub SocketAddr);

/// The two folders and their limits.
pub struct Files {
    /// `resources/`: common files.
    pub resources: Folder,
    /// `omm_files/`: one `Cloud-ID-<cloud-id>` folder per OMM.
    pub omm_files: Folder,
    /// Largest file an OMM may write.
    pub omm_upload_max: u64,
    /// Largest file an administrator may upload.
    pub admin_upload_max: u64,
    /// Bytes reserved by uploads in progress, per OMM folder: parallel uploads share the
    /// folder's quota instead of each seeing all of it.
    reserved: service_kit::tally::Tally<String>,
}

/// Room reserved in an OMM folder's quota for one upload (`amount` bytes); given back
/// when dropped.
type Reservation = service_kit::tally::Held<String>;

impl Files {
    /// Reserves up to `max` bytes of `quota` in `folder`, of which `used` are written;
    /// `None` when nothing is left.
    fn reserve(&self, folder: &str, quota: u64, used: u64, max: u64) -> Option<Reservation> {
        self.reserved
            .take(&folder.to_owned(), |_, held| {
                let room = quota.saturating_sub(used).saturating_sub(held).min(max);
                if room == 0 {
                    Err(())
                } else {
                    Ok(room)
                }
            })
            .ok()
    }
}

impl Files {
    /// Opens (creating) both folders under svc-web's state folder.
    ///
    /// # Errors
    /// A text when a folder cannot be made.
    pub fn open(
        state_dir: &std::path::Path,
        omm_upload_max: u64,
        admin_upload_max: u64,
    ) -> Result<Self, String> {
        let files = Self {
            resources: Folder::open(&state_dir.join("resources"))?,
            omm_files: Folder::open(&state_dir.join("omm_files"))?,
            omm_upload_max,
            admin_upload_max,
            reserved: service_kit::tally::Tally::default(),
        };
        let stale = files.resources.remove_stale_uploads() + files.omm_files.remove_stale_uploads();
        if stale > 0 {
            tracing::info!(
                files = stale,
                "removed uploads that were cut off by a restart"
            );
        }
        Ok(files)
    }

    /// The folder of the OMM with `cloud_id`; `create` makes it.
    ///
    /// # Errors
    /// [`FileError`]; an OMM without a Cloud-ID has no folder yet.
    pub fn omm_folder(&self, cloud_id: &str, create: bool) -> Result<Folder, FileError> {
        if cloud_id.is_empty() {
            return Err(FileError::BadPath(
                "the OMM has no Cloud-ID yet (it is learnt at its first link)".into(),
            ));
        }
        self.omm_files.sub(&folder_name(cloud_id), create)
    }
}

/// The folder name of an OMM (`Cloud-ID-` and its Cloud-ID).
#[must_use]
pub fn folder_name(cloud_id: &str) -> String {
    format!("Cloud-ID-{cloud_id}")
}

/// A file error as an answer.
impl From<FileError> for ApiError {
    fn from(e: FileError) -> Self {
        match e {
            FileError::BadPath(why) => ApiError::new(StatusCode::BAD_REQUEST, "bad_path", why),
            FileError::NotFound => ApiError::not_found("no such file"),
            FileError::TooLarge(max) => ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                format!("files may have at most {max} bytes"),
            ),
            FileError::Full => {
                tracing::error!("a provisioning upload failed: the disk is full");
                ApiError::new(
                    StatusCode::INSUFFICIENT_STORAGE,
                    "disk_full",
                    "the MOM's disk is full; the file was not stored (the old one is kept)",
                )
            }
            FileError::Io(why) => {
                tracing::warn!(error = %why, "provisioning file error");
                ApiError::internal("the file could not be read or written")
            }
        }
    }
}

/// The OMM-facing routes.
pub fn routes() -> axum::Router<Arc<App>> {
    axum::Router::new()
        .route("/provisioning/{folder}/ipdect.cfg", get(config_file::fetch))
        .route("/resources/{*path}", get(resource))
        .route("/omm_files/{*path}", get(omm_file).put(omm_upload))
}

/// The raw path below `prefix`, still percent-encoded (so that an encoded `/` or `..` is
/// seen as such by [`RelPath::parse`]).
fn below<'u>(uri: &'u Uri, prefix: &str) -> &'u str {
    uri.path().strip_prefix(prefix).unwrap_or("")
}

async fn resource(
    State(app): State<Arc<App>>,
    uri: Uri,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let rel = RelPath::parse(below(&uri, "/resources/"))?;
    let opened = app.files.resources.read(&rel)?;
    app.metrics.provisioning("resource");
    Ok(serve::file(opened, rel.split().1, &headers).await)
}

/// The OMM whose folder the path names, after its credentials were checked; and the path
/// below its folder.
async fn omm_of(
    app: &App,
    uri: &Uri,
    headers: &HeaderMap,
    peer: SocketAddr,
) -> ApiResult<(model::Omm, RelPath)> {
    let rest = below(uri, "/omm_files/");
    let (folder, path) = rest.split_once('/').unwrap_or((rest, ""));
    let cloud_id = folder
        .strip_prefix("Cloud-ID-")
        .filter(|id| id.len() == 12 && id.bytes().all(|b| b.is_ascii_hexdigit()))
        .ok_or_else(|| ApiError::not_found("no such folder"))?;
    let omm = crate::api::omms::all(app)
        .await?
        .into_iter()
        .find(|o| o.cloud_id.eq_ignore_ascii_case(cloud_id));
    omm_auth::check(app, omm.as_ref(), headers, peer.ip())?;
    let omm = omm.ok_or_else(|| ApiError::not_found("no such folder"))?;
    Ok((omm, RelPath::parse(path)?))
}

async fn omm_file(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    uri: Uri,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let (omm, rel) = omm_of(&app, &uri, &headers, peer).await?;
    let folder = app.files.omm_folder(&omm.cloud_id, false)?;
    let opened = folder.read(&rel)?;
    app.metrics.provisioning("omm_file");
    Ok(serve::file(opened, rel.split().1, &headers).await)
}

/// Writes `body` into `folder` at `rel`, at most `max` bytes; the old file stays unless
/// the whole body arrived.
///
/// # Errors
/// [`FileError`] as an answer, 400 when the upload broke off.
pub async fn write_body(folder: &Folder, rel: &RelPath, body: Body, max: u64) -> ApiResult<u64> {
    let mut upload = folder.begin_upload(rel, max)?;
    let mut stream = body.into_data_stream();
    while let Some(piece) = stream.next().await {
        let piece =
            piece.map_err(|e| ApiError::bad_request(format!("the upload broke off: {e}")))?;
        upload.write(&piece)?;
    }
    let size = tokio::task::spawn_blocking(move || upload.commit())
        .await
        .map_err(|e| ApiError::internal(e.to_string()))??;
    Ok(size)
}

async fn omm_upload(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let (omm, rel) = omm_of(&app, &uri, &headers, peer).await?;
    // The OMM's own folder is made at its first write, so that backups work at once.
    let folder = app.files.omm_folder(&omm.cloud_id, true)?;
    // The folder as a whole holds at most OMM_FOLDER_FILES uploads' worth, so that an OMM
    // (or whoever has its credentials) cannot fill the MOM's disk file by file.
    let quota = app.files.omm_upload_max.saturating_mul(OMM_FOLDER_FILES);
    let target = rel.path().to_string_lossy().into_owned();
    let used: u64 = folder
        .try_clone()?
        .list()?
        .iter()
        .filter(|f| f.path != target)
        .map(|f| f.size)
        .sum();
    // Room is reserved until the upload ends, so parallel uploads share the quota.
    let Some(reservation) = app
        .files
        .reserve(&omm.cloud_id, quota, used, app.files.omm_upload_max)
    else {
        return Err(ApiError::new(
            StatusCode::INSUFFICIENT_STORAGE,
            "folder_full",
            format!("the OMM's folder holds {used} bytes and uploads in progress the rest of its limit; delete old files first"),
        ));
    };
    let size = write_body(&folder, &rel, body, reservation.amount).await?;
    drop(reservation);
    app.metrics.provisioning("omm_upload");
    tracing::info!(omm = omm.id, path = %rel.path().display(), size, "OMM wrote a file into its folder");
    Ok(StatusCode::CREATED.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parallel_uploads_share_a_folders_quota() {
        let dir = tempfile::tempdir().unwrap();
        let files = Files::open(dir.path(), 100, 1000).unwrap();
        let a = files.reserve("7", 250, 0, 100).unwrap();
        let b = files.reserve("7", 250, 0, 100).unwrap();
        let c = files.reserve("7", 250, 0, 100).unwrap();
        assert_eq!((a.amount, b.amount, c.amount), (100, 100, 50));
        assert!(
            files.reserve("7", 250, 0, 100).is_none(),
            "the quota is taken"
        );
        assert!(
            files.reserve("8", 250, 0, 100).is_some(),
            "another OMM's folder is not"
        );
        drop(a);
        assert_eq!(files.reserve("7", 250, 0, 100).unwrap().amount, 100);
    }
}
