//! The security headers of the site, as the CDN sends them: `infra/template.yaml`'s
//! `SiteHeadersPolicy` (every page and asset) and `DatasetHeadersPolicy` (`/datasets/*`).
//! `envgov serve` sends the same, so a page that breaks under the Content-Security-Policy
//! breaks in the browser tests too, not first in production. The test below reads the
//! template and checks that it and these lists say the same, header for header: change one,
//! the test fails until the other says it too.

/// The site's Content-Security-Policy: scripts, styles, images, fonts, workers and requests
/// from the site only; WebAssembly compiled from those scripts (Pagefind and DuckDB-WASM);
/// forms submitted to the site only (the header's search box is a GET form).
pub const SITE_CSP: &str = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; \
worker-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; \
connect-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; \
frame-ancestors 'none'; upgrade-insecure-requests";

/// The datasets' Content-Security-Policy: a dataset file opened in a tab runs nothing.
pub const DATASET_CSP: &str = "default-src 'none'; frame-ancestors 'none'; sandbox";

const HSTS: &str = "max-age=63072000; includeSubDomains";

/// Every page, asset and search index file.
pub const SITE: &[(&str, &str)] = &[
    ("Strict-Transport-Security", HSTS),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "strict-origin-when-cross-origin"),
    ("X-XSS-Protection", "0"),
    ("Content-Security-Policy", SITE_CSP),
    (
        "Permissions-Policy",
        "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
    ),
    ("Cross-Origin-Opener-Policy", "same-origin"),
];

/// The datasets (`/datasets/…`, the latest and the dated archives).
pub const DATASETS: &[(&str, &str)] = &[
    ("Strict-Transport-Security", HSTS),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "strict-origin-when-cross-origin"),
    ("Content-Security-Policy", DATASET_CSP),
];

/// The headers of a request path (the CDN's behaviour: `/datasets/*` or the rest).
pub fn for_path(url_path: &str) -> &'static [(&'static str, &'static str)] {
    let path = url_path.split(['?', '#']).next().unwrap_or("");
    if path.split('/').find(|s| !s.is_empty()) == Some("datasets") {
        DATASETS
    } else {
        SITE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `key: value` leaves of one resource of a CloudFormation template in YAML, as
    /// dotted paths (`SecurityHeadersConfig.FrameOptions.FrameOption`), list items as `[]`,
    /// folded scalars (`>-`) joined with spaces. Enough YAML for the header policies: block
    /// mappings, block lists of mappings, plain and folded scalars.
    fn leaves(template: &str, resource: &str) -> Vec<(String, String)> {
        let start = format!("  {resource}:");
        let mut lines = template
            .lines()
            .skip_while(|l| l.trim_end() != start)
            .skip(1)
            .take_while(|l| l.is_empty() || l.starts_with("   ") || l.trim_start().starts_with('#'))
            .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
            .peekable();
        let mut stack: Vec<(usize, String)> = Vec::new();
        let mut out = Vec::new();
        while let Some(line) = lines.next() {
            let mut indent = line.len() - line.trim_start().len();
            let mut text = line.trim();
            if let Some(item) = text.strip_prefix("- ") {
                // A list item: its mapping's keys sit two columns further in.
                while stack.last().is_some_and(|(i, _)| *i >= indent) {
                    stack.pop();
                }
                if let Some(last) = stack.last_mut()
                    && !last.1.ends_with("[]")
                {
                    last.1.push_str("[]");
                }
                indent += 2;
                text = item;
            }
            while stack.last().is_some_and(|(i, _)| *i >= indent) {
                stack.pop();
            }
            let Some((key, value)) = text.split_once(':') else {
                panic!("not a key: {line}");
            };
            let value = value.trim();
            let path = stack
                .iter()
                .map(|(_, k)| k.as_str())
                .chain([key])
                .collect::<Vec<_>>()
                .join(".");
            if value.is_empty() {
                stack.push((indent, key.to_string()));
            } else if value == ">-" {
                let mut folded = Vec::new();
                while let Some(next) = lines.peek() {
                    if next.len() - next.trim_start().len() <= indent {
                        break;
                    }
                    folded.push(next.trim());
                    lines.next();
                }
                out.push((path, folded.join(" ")));
            } else {
                out.push((path, value.to_string()));
            }
        }
        out
    }

    /// The headers a CloudFront response headers policy adds, from its leaves.
    fn policy_headers(leaves: &[(String, String)]) -> Vec<(String, String)> {
        let get = |path: &str| {
            leaves
                .iter()
                .find(|(p, _)| p == path)
                .map(|(_, v)| v.as_str())
        };
        let sec = "Properties.ResponseHeadersPolicyConfig.SecurityHeadersConfig";
        let mut out = Vec::new();
        if let Some(age) = get(&format!(
            "{sec}.StrictTransportSecurity.AccessControlMaxAgeSec"
        )) {
            let mut v = format!("max-age={age}");
            if get(&format!("{sec}.StrictTransportSecurity.IncludeSubdomains")) == Some("true") {
                v.push_str("; includeSubDomains");
            }
            if get(&format!("{sec}.StrictTransportSecurity.Preload")) == Some("true") {
                v.push_str("; preload");
            }
            out.push(("Strict-Transport-Security".to_string(), v));
        }
        if get(&format!("{sec}.ContentTypeOptions.Override")).is_some() {
            out.push(("X-Content-Type-Options".into(), "nosniff".into()));
        }
        if let Some(v) = get(&format!("{sec}.FrameOptions.FrameOption")) {
            out.push(("X-Frame-Options".into(), v.into()));
        }
        if let Some(v) = get(&format!("{sec}.ReferrerPolicy.ReferrerPolicy")) {
            out.push(("Referrer-Policy".into(), v.into()));
        }
        if let Some(v) = get(&format!("{sec}.XSSProtection.Protection")) {
            assert_eq!(v, "false", "only X-XSS-Protection: 0 is mapped here");
            out.push(("X-XSS-Protection".into(), "0".into()));
        }
        if let Some(v) = get(&format!(
            "{sec}.ContentSecurityPolicy.ContentSecurityPolicy"
        )) {
            out.push(("Content-Security-Policy".into(), v.into()));
        }
        let custom = "Properties.ResponseHeadersPolicyConfig.CustomHeadersConfig.Items[]";
        let names = leaves
            .iter()
            .filter(|(p, _)| *p == format!("{custom}.Header"));
        let values = leaves
            .iter()
            .filter(|(p, _)| *p == format!("{custom}.Value"));
        for ((_, n), (_, v)) in names.zip(values) {
            out.push((n.clone(), v.clone()));
        }
        out
    }

    fn template() -> String {
        let file = concat!(env!("CARGO_MANIFEST_DIR"), "/../../infra/template.yaml");
        std::fs::read_to_string(file).unwrap()
    }

    fn owned(headers: &[(&str, &str)]) -> Vec<(String, String)> {
        headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn serve_sends_the_site_headers_of_the_cdn() {
        let site = policy_headers(&leaves(&template(), "SiteHeadersPolicy"));
        assert_eq!(site, owned(SITE));
        let datasets = policy_headers(&leaves(&template(), "DatasetHeadersPolicy"));
        assert_eq!(datasets, owned(DATASETS));
    }

    #[test]
    fn reads_the_policies_of_a_template_by_hand() {
        // A policy written here by hand, in the template's shape (comments, a folded CSP,
        // a CORS block whose max age must not be taken for HSTS's, a list of custom headers).
        let yaml = "Resources:
  Other:
    Type: X
  P:
    # headers
    Type: AWS::CloudFront::ResponseHeadersPolicy
    Properties:
      ResponseHeadersPolicyConfig:
        CorsConfig:
          AccessControlMaxAgeSec: 86400
        SecurityHeadersConfig:
          StrictTransportSecurity:
            AccessControlMaxAgeSec: 600
            IncludeSubdomains: false
            Preload: true
          FrameOptions:
            FrameOption: SAMEORIGIN
          ContentSecurityPolicy:
            ContentSecurityPolicy: >-
              default-src 'none';
              img-src 'self'
            Override: true
        CustomHeadersConfig:
          Items:
            - Header: A
              Value: a=()
              Override: true
            - Header: B
              Value: b
  Next:
    Type: Y
";
        let got = policy_headers(&leaves(yaml, "P"));
        let want = owned(&[
            ("Strict-Transport-Security", "max-age=600; preload"),
            ("X-Frame-Options", "SAMEORIGIN"),
            (
                "Content-Security-Policy",
                "default-src 'none'; img-src 'self'",
            ),
            ("A", "a=()"),
            ("B", "b"),
        ]);
        assert_eq!(got, want);
    }

    #[test]
    fn datasets_get_the_dataset_headers_and_the_rest_the_site_headers() {
        assert_eq!(for_path("/datasets/cems-daily/cems-daily.csv"), DATASETS);
        assert_eq!(for_path("/datasets/x/archive/2026-01-31/x.csv"), DATASETS);
        assert_eq!(for_path("/datasets?x"), DATASETS);
        assert_eq!(for_path("/zh/datasets/cems-daily.html"), SITE);
        assert_eq!(for_path("/"), SITE);
        assert_eq!(for_path("/assets/site.css"), SITE);
        assert_eq!(for_path("/datasetsx/a"), SITE);
    }
}
