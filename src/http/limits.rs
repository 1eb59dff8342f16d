//! Limits on what a client may send. Body sizes are capped where bodies are
//! read (JSON: [`super::JSON_LIMIT`]; evidence: the configured size); this
//! module caps time: a body must keep arriving — nothing for the request
//! timeout, or slower than [`MIN_BYTES_PER_SEC`] on average after it, and
//! it ends with 408 — so a client that stalls or trickles bytes cannot hold
//! a connection, while a slow upload that keeps progressing gets through.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use actix_web::HttpMessage;
use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::middleware::Next;
use actix_web::web::{Bytes, Data};
use futures_util::Stream;

use crate::app::Ctx;

/// Marks the error a late body ends with, so extractors can answer 408.
pub const TIMED_OUT: &str = "request body timed out";

/// Whether a payload error is the deadline of [`body_deadline`].
pub fn is_timeout(e: &PayloadError) -> bool {
    matches!(e, PayloadError::Io(io) if io.kind() == std::io::ErrorKind::TimedOut)
}

/// The slowest average a body may arrive at once it has taken longer than
/// the timeout (bytes a second): a weak uplink sends far more, a client
/// trickling a byte now and then to hold its connection sends less.
pub const MIN_BYTES_PER_SEC: u64 = 512;

/// A body's deadline: it ends with [`TIMED_OUT`] when nothing arrived for
/// `idle`, or when, after `idle`, it arrives slower than
/// [`MIN_BYTES_PER_SEC`] on average. A slow upload that keeps progressing
/// (a 3 MB photo over a weak signal) is not cut off.
struct Deadline {
    inner: Payload,
    idle: std::time::Duration,
    sleep: Pin<Box<tokio::time::Sleep>>,
    started: tokio::time::Instant,
    received: u64,
    done: bool,
}

impl Deadline {
    fn too_slow(&self) -> bool {
        let elapsed = self.started.elapsed();
        elapsed > self.idle && u128::from(self.received) * 1000 < u128::from(MIN_BYTES_PER_SEC) * elapsed.as_millis()
    }

    fn timed_out(&mut self) -> Poll<Option<Result<Bytes, PayloadError>>> {
        self.done = true;
        Poll::Ready(Some(Err(PayloadError::Io(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            TIMED_OUT,
        )))))
    }
}

impl Stream for Deadline {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        match Pin::new(&mut self.inner).poll_next(cx) {
            Poll::Ready(Some(Ok(bytes))) => {
                self.received = self.received.saturating_add(bytes.len() as u64);
                if self.too_slow() {
                    return self.timed_out();
                }
                let next = tokio::time::Instant::now() + self.idle;
                self.sleep.as_mut().reset(next);
                return Poll::Ready(Some(Ok(bytes)));
            }
            Poll::Ready(item) => return Poll::Ready(item),
            Poll::Pending => {}
        }
        if self.sleep.as_mut().poll(cx).is_ready() {
            return self.timed_out();
        }
        Poll::Pending
    }
}

/// The query parameter holding a NUL character (`%00`), if any.
fn nul_in_query(query: &str) -> Option<String> {
    // On every request: a scan without allocating.
    if !query.as_bytes().windows(3).any(|w| w == b"%00") {
        return None;
    }
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).ok()?;
    pairs
        .into_iter()
        .find(|(k, v)| k.contains('\0') || v.contains('\0'))
        .map(|(k, _)| k)
}

/// Middleware: no query parameter may hold a NUL character (422 naming
/// it, answered here so that the outer middleware still adds its headers),
/// and the request body must keep arriving (see [`Deadline`]).
pub async fn body_deadline(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<actix_web::body::EitherBody<impl MessageBody>>, actix_web::Error> {
    if let Some(field) = nul_in_query(req.query_string()) {
        let refused = crate::error::FieldErrors::single(field, crate::http::json::NUL_MESSAGE);
        return Ok(req.error_response(refused).map_into_right_body());
    }
    use actix_web::http::header::{CONTENT_LENGTH, TRANSFER_ENCODING};
    let has_body = req.headers().get(CONTENT_LENGTH).is_some_and(|v| v.as_bytes() != b"0")
        || req.headers().contains_key(TRANSFER_ENCODING);
    if has_body && let Some(ctx) = req.app_data::<Data<Ctx>>() {
        let timeout = ctx.settings.request_timeout;
        let inner = req.take_payload();
        let stream = Deadline {
            inner,
            idle: timeout,
            sleep: Box::pin(tokio::time::sleep(timeout)),
            started: tokio::time::Instant::now(),
            received: 0,
            done: false,
        };
        req.set_payload(Payload::Stream {
            payload: Box::pin(stream),
        });
    }
    next.call(req).await.map(ServiceResponse::map_into_left_body)
}

/// Drops a client that stops reading what it is sent: on each accepted
/// connection, the kernel is told to abort it when data sent stays
/// unacknowledged, or the client's receive window stays shut, for longer
/// than `timeout` (`TCP_USER_TIMEOUT`). A download to a reader that went
/// away then ends instead of holding its connection and file forever.
pub fn drop_stalled_readers(conn: &dyn std::any::Any, timeout: std::time::Duration) {
    #[cfg(any(target_os = "linux", target_os = "android", target_os = "fuchsia"))]
    if let Some(tcp) = conn.downcast_ref::<actix_web::rt::net::TcpStream>()
        && let Err(e) = socket2::SockRef::from(tcp).set_tcp_user_timeout(Some(timeout))
    {
        tracing::warn!(error = %e, "cannot set a write timeout on a connection");
    }
    #[cfg(not(any(target_os = "linux", target_os = "android", target_os = "fuchsia")))]
    let _ = (conn, timeout);
}

/// The error of reading a whole body: 408 when it came too slowly, 413
/// when too large, else 400.
pub fn body_error(e: actix_web::Error) -> crate::error::AppError {
    use crate::error::AppError;
    if e.as_error::<PayloadError>().is_some_and(is_timeout) {
        AppError::Timeout("请求体未能在限定时间内传完".into())
    } else if e.as_response_error().status_code() == actix_web::http::StatusCode::PAYLOAD_TOO_LARGE {
        AppError::TooLarge(format!("请求体超过 {} 字节的上限", super::JSON_LIMIT))
    } else {
        // The reader sees Chinese; the library's English detail is logged.
        tracing::info!(error = %e, "request body unreadable");
        AppError::BadRequest("无法读取请求体（连接中断或数据不完整），请重新提交".into())
    }
}

/// A whole (small) body as bytes, with the errors of [`body_error`]; for
/// handlers that read a form or JSON themselves (`/login`, `/logout`).
pub struct Body(pub Bytes);

impl actix_web::FromRequest for Body {
    type Error = crate::error::AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &actix_web::HttpRequest, payload: &mut Payload) -> Self::Future {
        let bytes = Bytes::from_request(req, payload);
        Box::pin(async move { bytes.await.map(Body).map_err(body_error) })
    }
}
