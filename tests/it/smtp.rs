//! A real SMTP server on 127.0.0.1 for the tests: the `mailin` protocol
//! state machine driven by a small accept loop; what arrives is kept and
//! parsed with `mail-parser`.

use std::io::{BufRead, BufReader, Write};
use std::net::{IpAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mail_parser::{MessageParser, MimeHeaders};
use mailin::{Action, Handler, Response, SessionBuilder, response};

#[derive(Debug, Clone)]
pub struct Mail {
    /// The envelope sender.
    pub from: String,
    pub to: Vec<String>,
    pub raw: Vec<u8>,
}

impl Mail {
    pub fn subject(&self) -> String {
        MessageParser::default()
            .parse(&self.raw)
            .and_then(|m| m.subject().map(str::to_owned))
            .unwrap_or_default()
    }

    pub fn text(&self) -> String {
        MessageParser::default()
            .parse(&self.raw)
            .and_then(|m| m.body_text(0).map(|t| t.into_owned()))
            .unwrap_or_default()
    }

    pub fn html(&self) -> String {
        MessageParser::default()
            .parse(&self.raw)
            .and_then(|m| m.body_html(0).map(|t| t.into_owned()))
            .unwrap_or_default()
    }

    pub fn message_id(&self) -> String {
        MessageParser::default()
            .parse(&self.raw)
            .and_then(|m| m.message_id().map(str::to_owned))
            .unwrap_or_default()
    }

    /// (file name, contents) of every attachment.
    pub fn attachments(&self) -> Vec<(String, Vec<u8>)> {
        MessageParser::default()
            .parse(&self.raw)
            .map(|m| {
                m.attachments()
                    .map(|a| {
                        (
                            a.attachment_name().unwrap_or_default().to_owned(),
                            a.contents().to_vec(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

#[derive(Clone)]
struct Session {
    inbox: Arc<Mutex<Vec<Mail>>>,
    reject: Arc<AtomicBool>,
    from: String,
    to: Vec<String>,
    data: Vec<u8>,
}

impl Handler for Session {
    fn mail(&mut self, _ip: IpAddr, _domain: &str, _from: &str) -> Response {
        if self.reject.load(Ordering::SeqCst) {
            return response::INTERNAL_ERROR; // 451: try again later
        }
        response::OK
    }

    fn data_start(&mut self, _domain: &str, from: &str, _is8bit: bool, to: &[String]) -> Response {
        self.from = from.to_owned();
        self.to = to.to_vec();
        self.data.clear();
        response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        let mail = Mail {
            from: std::mem::take(&mut self.from),
            to: std::mem::take(&mut self.to),
            raw: std::mem::take(&mut self.data),
        };
        self.inbox.lock().expect("inbox").push(mail);
        response::OK
    }
}

pub struct SmtpServer {
    pub port: u16,
    inbox: Arc<Mutex<Vec<Mail>>>,
    reject: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
}

impl SmtpServer {
    pub fn start() -> SmtpServer {
        Self::serve(TcpListener::bind("127.0.0.1:0").expect("bind SMTP"))
    }

    /// On a given port (to bring a server "back up").
    pub fn start_on(port: u16) -> SmtpServer {
        Self::serve(TcpListener::bind(("127.0.0.1", port)).expect("bind SMTP port"))
    }

    fn serve(listener: TcpListener) -> SmtpServer {
        let port = listener.local_addr().expect("addr").port();
        listener.set_nonblocking(true).expect("nonblocking");
        let inbox = Arc::new(Mutex::new(Vec::new()));
        let reject = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let proto = Session {
            inbox: inbox.clone(),
            reject: reject.clone(),
            from: String::new(),
            to: Vec::new(),
            data: Vec::new(),
        };
        let stopping = stop.clone();
        std::thread::spawn(move || {
            while !stopping.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, addr)) => {
                        let handler = proto.clone();
                        std::thread::spawn(move || {
                            let _ = session(stream, addr.ip(), handler);
                        });
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        SmtpServer {
            port,
            inbox,
            reject,
            stop,
        }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Answer every message with 451 (a temporary failure) or accept again.
    pub fn set_rejecting(&self, reject: bool) {
        self.reject.store(reject, Ordering::SeqCst);
    }

    pub fn mails(&self) -> Vec<Mail> {
        self.inbox.lock().expect("inbox").clone()
    }

    /// Waits until at least `n` messages arrived (at most `timeout`).
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Mail> {
        let start = Instant::now();
        loop {
            let count = self.inbox.lock().expect("inbox").len();
            if count >= n || start.elapsed() > timeout {
                return self.mails();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn session(stream: TcpStream, ip: IpAddr, handler: Session) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    let mut session = SessionBuilder::new("bayige-test-smtp").build(ip, handler);
    session.greeting().write_to(&mut writer)?;
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            return Ok(());
        }
        let res = session.process(&line);
        match res.action {
            Action::Reply => res.write_to(&mut writer)?,
            Action::Close => {
                res.write_to(&mut writer)?;
                writer.flush()?;
                return Ok(());
            }
            Action::NoReply => {}
            // STARTTLS is never offered, so never requested.
            Action::UpgradeTls => return Ok(()),
        }
        writer.flush()?;
    }
}
