//! svc-web
