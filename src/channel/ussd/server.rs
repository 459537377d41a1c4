//! The HTTP face of the USSD service (axum).

use super::auth::GatewayAuth;
use super::gateway::africastalking::{self, AfricasTalking};
use super::gateway::airtel::Airtel;
use super::gateway::arkesel::Arkesel;
use super::gateway::dmark::Dmark;
use super::gateway::hollatags::HollaTags;
use super::gateway::hubtel::Hubtel;
use super::gateway::hubtel_ps::HubtelPs;
use super::gateway::infobip::Infobip;
use super::gateway::korba::Korba;
use super::gateway::nalo::Nalo;
use super::gateway::sendexa::Sendexa;
use super::gateway::{Gateway, GatewayRequest, GatewayResponse, Screen};
use super::UssdService;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use std::sync::Arc;

/// Larger bodies are refused with a polite END (real hops are a few hundred bytes).
const MAX_BODY: usize = 16 * 1024;

/// How long a shed hop's body may take to arrive (a gateway sends a few
/// hundred bytes at once).
const BUSY_READ: std::time::Duration = std::time::Duration::from_secs(1);

/// What a hop shed under overload is told (the server's in-flight limit).
pub(super) const BUSY: &str = "Sorry, we are busy right now. Please dial again in a minute.";

/// Every gateway's hop path and codec: [`router`] mounts each, and a hop
/// shed under overload ([`busy`]) is answered by the codec at its path
/// (`{…}` segments are axum's captures: [`routed_to`]).
const HOPS: [(&str, &dyn Gateway); 11] = [
    ("/ussd", &AfricasTalking),
    ("/ussd/hubtel", &Hubtel),
    ("/ussd/hubtel-ps", &HubtelPs),
    ("/ussd/arkesel", &Arkesel),
    ("/ussd/nalo", &Nalo),
    ("/ussd/korba", &Korba),
    // The codec reads the session id and the hop's kind from the path.
    ("/ussd/infobip/{session}/{kind}", &Infobip),
    ("/ussd/airtel", &Airtel),
    ("/ussd/dmark", &Dmark),
    ("/ussd/hollatags", &HollaTags),
    ("/ussd/sendexa", &Sendexa),
];

/// The gateway whose hops come to `path`, as [`router`] mounts them.
fn gateway_at(path: &str) -> Option<&'static dyn Gateway> {
    HOPS.iter()
        .find(|(at, _)| routed_to(at, path))
        .map(|(_, gateway)| *gateway)
}

/// Whether axum's route `pattern` takes `path`: segment by segment, a
/// `{capture}` taking any non-empty segment and every other one only
/// itself, as many as the pattern has.
fn routed_to(pattern: &str, path: &str) -> bool {
    let (mut want, mut got) = (pattern.split('/'), path.split('/'));
    loop {
        match (want.next(), got.next()) {
            (None, None) => return true,
            (Some(w), Some(g)) if w.starts_with('{') && !g.is_empty() => {}
            (Some(w), Some(g)) if w == g => {}
            _ => return false,
        }
    }
}

/// The reply to a hop the server sheds under overload: an `END` screen in
/// its gateway's format, echoing the session id (Hubtel Programmable
/// Services needs it) and whatever else its replies echo (Arkesel's and
/// Nalo's user id and phone), without a store read or the gateway's
/// authentication (it says nothing but "busy"). `Err` gives back a request
/// that is not a hop at one of [`router`]'s paths (mounted elsewhere, or
/// another route), for the server's own reply.
pub(crate) async fn busy(request: Request) -> Result<Response, Request> {
    let Some(gateway) = gateway_at(request.uri().path()) else {
        return Err(request);
    };
    let busy = Screen {
        text: BUSY.into(),
        end: true,
        masked: false,
    };
    // An unreadable body still gets the busy screen, without a session id;
    // so does one that is slow to come. A shed request holds no in-flight
    // slot and sits outside the body timeout, so its read is bounded here
    // (a body trickled a byte a minute would otherwise hold a connection
    // for days, and enough of them would stop the server accepting).
    let read = tokio::time::timeout(BUSY_READ, read(request)).await;
    let Ok(Some(request)) = read else {
        return Ok(respond(gateway.encode(&busy, "", "")));
    };
    let replying = gateway.replying_to(&request);
    let gateway = replying.as_deref().unwrap_or(gateway);
    let (session_id, payload) = match gateway.decode(&request) {
        Ok(raw) => (raw.session_id, Some(raw.payload)),
        Err(_) => (String::new(), None),
    };
    // A gateway asking whether a session is going is told it is: a busy
    // "no" could cut off a person between two answers.
    if payload == Some(super::gateway::Payload::Status) {
        return Ok(respond(gateway.encode_status(true, &session_id)));
    }
    Ok(respond(gateway.encode(&busy, &session_id, "")))
}

/// Routes: Africa's Talking at `POST /ussd` (its end-of-session
/// notifications at `POST /ussd/events`), Hubtel at `POST /ussd/hubtel`,
/// Hubtel Programmable Services at `POST /ussd/hubtel-ps`, Arkesel at
/// `POST /ussd/arkesel`, Nalo at `POST /ussd/nalo`, Korba / Mobiverse at
/// `POST /ussd/korba`, Infobip at `POST /ussd/infobip/{sessionId}/start`
/// (`/response`, `/end`), Airtel (Comviva) at `GET` or `POST /ussd/airtel`,
/// DMark at `GET` or `POST /ussd/dmark`, HollaTags at `GET` or
/// `POST /ussd/hollatags`, Sendexa at `POST /ussd/sendexa`; every one
/// behind `auth`.
pub fn router(service: Arc<UssdService>, auth: GatewayAuth) -> Router {
    // Checked in each handler rather than by a `route_layer` middleware: a
    // middleware wraps every route in one more boxed service, and a hop
    // paid for it in allocations and a boxed future on every request.
    // Shared, not cloned per request (the token is a string).
    let auth = Arc::new(auth);
    let mut router = Router::new().route("/ussd/events", {
        let auth = Arc::clone(&auth);
        post(move |state, request| at_events(state, Arc::clone(&auth), request))
    });
    for (path, gateway) in HOPS {
        let auth = Arc::clone(&auth);
        let hop = move |State(service): State<Arc<UssdService>>, request: Request| {
            let auth = Arc::clone(&auth);
            async move {
                match super::auth::refused(&auth, &request) {
                    Some(refused) => refused,
                    None => serve(&service, gateway, request).await,
                }
            }
        };
        // Africa's Talking's Kenyan clones (and Safaricom's direct
        // interface), Airtel, DMark and HollaTags call by `GET`.
        let by_get = ["/ussd", "/ussd/airtel", "/ussd/dmark", "/ussd/hollatags"];
        let method = if by_get.contains(&path) {
            get(hop.clone()).post(hop)
        } else {
            post(hop)
        };
        router = router.route(path, method);
    }
    router.with_state(service)
}

/// The request as a codec reads it, with the peer address (when the server
/// recorded one) for per-source limits.
async fn read(request: Request) -> Option<GatewayRequest> {
    let peer = request
        .extensions()
        .get::<ConnectInfo<std::net::SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip());
    let (parts, body) = request.into_parts();
    let body = read_body(body).await?;
    Some(GatewayRequest {
        content_type: parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        query: parts.uri.query().unwrap_or("").to_owned(),
        path: parts.uri.path().to_owned(),
        body,
        peer,
    })
}

/// The body's bytes, or `None` when it fails or passes [`MAX_BODY`]. Read
/// frame by frame into one buffer: a hop's body comes in one frame, and
/// `to_bytes` (a size limit, then a collector of frames and trailers, then
/// a copy out of it) cost a hop a tenth of its own work.
async fn read_body(mut body: axum::body::Body) -> Option<Vec<u8>> {
    use http_body::Body as _;
    let declared = body.size_hint().lower();
    if declared > MAX_BODY as u64 {
        return None;
    }
    let mut bytes = Vec::with_capacity(usize::try_from(declared).unwrap_or(MAX_BODY));
    while let Some(frame) =
        std::future::poll_fn(|cx| std::pin::Pin::new(&mut body).poll_frame(cx)).await
    {
        // Trailers are not a hop's.
        if let Ok(data) = frame.ok()?.into_data() {
            if bytes.len() + data.len() > MAX_BODY {
                return None;
            }
            bytes.extend_from_slice(&data);
        }
    }
    Some(bytes)
}

/// The codec's reply as an HTTP response, built directly: `into_response`
/// on the body would first set an `application/octet-stream` type for the
/// codec's own to replace, and every hop is answered here.
fn respond(r: GatewayResponse) -> Response {
    // Room for the `content-length` axum adds to a handler's response, so
    // that does not regrow it.
    let mut headers = HeaderMap::with_capacity(r.headers.len() + 1);
    for (name, value) in r.headers {
        // The codecs' one common header without a parse of its name.
        let name = if name == "content-type" {
            Ok(header::CONTENT_TYPE)
        } else {
            HeaderName::from_bytes(name.as_bytes())
        };
        // `try_from` a `String` keeps its buffer rather than copying it.
        if let (Ok(name), Ok(value)) = (name, HeaderValue::try_from(value)) {
            headers.insert(name, value);
        }
    }
    let mut response = Response::new(axum::body::Body::from(r.body));
    *response.status_mut() = StatusCode::from_u16(r.status).unwrap_or(StatusCode::OK);
    *response.headers_mut() = headers;
    response
}

async fn serve(service: &Arc<UssdService>, gateway: &dyn Gateway, request: Request) -> Response {
    match read(request).await {
        Some(request) => respond(service.hop(gateway, &request).await),
        None => {
            tracing::warn!(gateway = gateway.name(), "hop body too large or unreadable");
            let sorry = Screen {
                text: "Sorry, we could not read that. Please dial again.".into(),
                end: true,
                masked: false,
            };
            respond(gateway.encode(&sorry, "", ""))
        }
    }
}

/// AT posts one notification per ended session; reply 200 quickly.
async fn at_events(
    State(service): State<Arc<UssdService>>,
    auth: Arc<GatewayAuth>,
    request: Request,
) -> Response {
    if let Some(refused) = super::auth::refused(&auth, &request) {
        return refused;
    }
    if let Some(request) = read(request).await {
        match africastalking::decode_notification(&request) {
            Ok(ended) => service.session_ended("at", &ended),
            Err(e) => tracing::warn!(error = %e, "unreadable session notification"),
        }
    }
    StatusCode::OK.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The busy screen's codec is the one whose route would have served
    /// the path: captures take one non-empty segment each, nothing more.
    #[test]
    fn a_path_finds_the_gateway_its_route_serves() {
        let name = |path: &str| gateway_at(path).map(|g| g.name());
        assert_eq!(name("/ussd"), Some("at"));
        assert_eq!(name("/ussd/korba"), Some("korba"));
        assert_eq!(name("/ussd/infobip/ib-1/start"), Some("infobip"));
        assert_eq!(name("/ussd/airtel"), Some("airtel"));
        assert_eq!(name("/ussd/dmark"), Some("dmark"));
        assert_eq!(name("/ussd/hollatags"), Some("hollatags"));
        assert_eq!(name("/ussd/sendexa"), Some("sendexa"));
        for path in [
            "/ussd/infobip",
            "/ussd/infobip/",
            "/ussd/infobip/ib-1",
            "/ussd/infobip//start",
            "/ussd/infobip/a/b/c",
            "/ussd/infobipx/a/start",
            "/ussd/korba/x",
            "/link/v1/session",
        ] {
            assert_eq!(name(path), None, "{path}");
        }
    }

    /// A body is read whole across frames, and refused past [`MAX_BODY`]
    /// whether it declares its length or streams without one.
    #[tokio::test]
    async fn a_body_is_read_across_frames_and_refused_past_the_limit() {
        let frames = |sizes: Vec<usize>| {
            axum::body::Body::from_stream(futures_util::stream::iter(sizes.into_iter().map(|n| {
                Ok::<_, std::convert::Infallible>(axum::body::Bytes::from(vec![b'1'; n]))
            })))
        };
        let read = read_body(frames(vec![3, 4, 5])).await;
        assert_eq!(read.as_deref(), Some(&b"111111111111"[..]));
        let streamed = frames(vec![MAX_BODY / 2, MAX_BODY / 2, 1]);
        assert_eq!(read_body(streamed).await, None, "streamed past the limit");
        let at_limit = frames(vec![MAX_BODY / 2, MAX_BODY / 2]);
        assert_eq!(read_body(at_limit).await.map(|b| b.len()), Some(MAX_BODY));
        let declared = axum::body::Body::from(vec![b'1'; MAX_BODY + 1]);
        assert_eq!(read_body(declared).await, None, "declared past the limit");
        assert_eq!(read_body(axum::body::Body::empty()).await, Some(Vec::new()));
    }
}
