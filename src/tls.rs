//! The function's TLS trust store.
//!
//! The SDK's default client loads and parses the whole system CA bundle (about 150 roots) when the
//! first client is built: about a third of the instructions of a cold start. Every public endpoint
//! of the `aws` and `aws-us-gov` partitions presents a certificate from Amazon Trust Services, so
//! the function trusts only its five roots (Amazon Root CA 1–4 and the Starfield Services G2 root
//! that cross-signs them). China regions and custom HTTPS endpoints (a proxy, an emulator behind
//! TLS) keep the system store, because their certificates may come from anywhere.

use aws_smithy_http_client::tls::{self, TlsContext, TrustStore};
use aws_smithy_runtime_api::client::http::SharedHttpClient;

/// Amazon Trust Services roots, PEM, from the Mozilla CA program as Debian ships it.
pub const AMAZON_TRUST_SERVICES_ROOTS: &[u8] = include_bytes!("../certs/amazon-trust-services.pem");

/// Whether the lean store is safe for this environment: the region is not in China and no
/// custom endpoint uses HTTPS.
pub fn lean_roots_apply<I, K, V>(vars: I) -> bool
where
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<str>,
    V: AsRef<str>,
{
    for (key, value) in vars {
        let (key, value) = (key.as_ref(), value.as_ref().trim());
        let endpoint = key == "AWS_ENDPOINT_URL" || key.starts_with("AWS_ENDPOINT_URL_");
        if endpoint && !value.to_ascii_lowercase().starts_with("http://") {
            return false;
        }
        if (key == "AWS_REGION" || key == "AWS_DEFAULT_REGION") && value.starts_with("cn-") {
            return false;
        }
    }
    true
}

/// The HTTP client for the function: rustls with the Amazon roots only where that is safe, else
/// `None` (the SDK's default client with the system store).
pub fn lambda_http_client() -> Option<SharedHttpClient> {
    if !lean_roots_apply(std::env::vars()) {
        return None;
    }
    let store = TrustStore::empty()
        .with_native_roots(false)
        .with_pem_certificate(AMAZON_TRUST_SERVICES_ROOTS);
    let context = match TlsContext::builder().with_trust_store(store).build() {
        Ok(context) => context,
        Err(error) => {
            tracing::warn!(%error, "lean trust store rejected; using the system store");
            return None;
        }
    };
    Some(
        aws_smithy_http_client::Builder::new()
            .tls_provider(tls::Provider::Rustls(
                tls::rustls_provider::CryptoMode::AwsLc,
            ))
            .tls_context(context)
            .build_https(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_lambda_environment_uses_the_lean_store() {
        assert!(lean_roots_apply([
            ("AWS_REGION", "eu-west-1"),
            ("AWS_LAMBDA_FUNCTION_NAME", "autopsy")
        ]));
    }

    #[test]
    fn china_regions_keep_the_system_store() {
        assert!(!lean_roots_apply([("AWS_REGION", "cn-north-1")]));
        assert!(!lean_roots_apply([(
            "AWS_DEFAULT_REGION",
            "cn-northwest-1"
        )]));
    }

    #[test]
    fn https_custom_endpoints_keep_the_system_store() {
        assert!(!lean_roots_apply([(
            "AWS_ENDPOINT_URL",
            "https://proxy.internal:8443"
        )]));
        assert!(!lean_roots_apply([(
            "AWS_ENDPOINT_URL_S3",
            "HTTPS://s3.proxy"
        )]));
    }

    #[test]
    fn plain_http_emulator_endpoints_need_no_roots_at_all() {
        assert!(lean_roots_apply([(
            "AWS_ENDPOINT_URL",
            "http://127.0.0.1:5000"
        )]));
    }

    #[test]
    fn bundle_holds_the_five_amazon_trust_services_roots() {
        use rustls_pki_types::CertificateDer;
        use rustls_pki_types::pem::PemObject;
        let certs: Vec<_> = CertificateDer::pem_slice_iter(AMAZON_TRUST_SERVICES_ROOTS)
            .collect::<Result<_, _>>()
            .unwrap_or_default();
        assert_eq!(certs.len(), 5);
        for cert in &certs {
            let trust_anchor = webpki::anchor_from_trusted_cert(cert);
            assert!(trust_anchor.is_ok(), "{trust_anchor:?}");
        }
    }
}
