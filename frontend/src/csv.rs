//! Lists as CSV files (RFC 4180) the admin downloads, and the download itself. A column is a
//! header and a path into the resource as the API shows it (`owner.display`), so each screen
//! names its columns and nothing else.

use serde_json::Value;

/// A CSV column: its header and where its value is in each resource.
pub type Column = (&'static str, &'static str);

/// The value at `path` (dot-separated) of `resource` as CSV text: strings as they are, numbers
/// and booleans written out, lists joined by `;` (a user's emails), absent as empty.
fn cell(resource: &Value, path: &str) -> String {
    let value = path.split('.').try_fold(resource, |v, name| v.get(name));
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| i.get("value").unwrap_or(i))
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
            .collect::<Vec<_>>()
            .join(";"),
        Some(other) => other.to_string(),
    }
}

/// One field as RFC 4180 writes it: quoted when it holds a comma, a quote or a line break. A
/// field a spreadsheet would run as a formula (`=`, `+`, `@`, a tab or carriage return first,
/// or `-` not followed by a digit) gets a `'` first (OWASP's CSV injection advice): a userName
/// or a model is whatever a provisioning client or a seed file wrote.
fn field(text: &str) -> String {
    let formula = match text.as_bytes() {
        [b'=' | b'+' | b'@' | b'\t' | b'\r', ..] => true,
        [b'-', rest @ ..] => !rest.first().is_some_and(u8::is_ascii_digit),
        _ => false,
    };
    let text = if formula { format!("'{text}") } else { text.to_owned() };
    if text.contains([',', '"', '\n', '\r']) { format!("\"{}\"", text.replace('"', "\"\"")) } else { text }
}

/// The CSV text of `resources` under `columns`, a header line first, lines ended by CRLF.
pub fn write(columns: &[Column], resources: &[Value]) -> String {
    let line = |cells: Vec<String>| cells.join(",") + "\r\n";
    let mut text = line(columns.iter().map(|(header, _)| field(header)).collect());
    for resource in resources {
        text.push_str(&line(columns.iter().map(|(_, path)| field(&cell(resource, path))).collect()));
    }
    text
}

/// Hands `text` to the browser as a downloaded file named `name`.
pub fn download(name: &str, media_type: &str, text: &str) {
    use wasm_bindgen::JsCast;
    let parts = js_sys::Array::of1(&text.into());
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(media_type);
    let Ok(blob) = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options) else { return };
    let Ok(url) = web_sys::Url::create_object_url_with_blob(&blob) else { return };
    let document = leptos::prelude::document();
    if let Some(link) =
        document.create_element("a").ok().and_then(|a| a.dyn_into::<web_sys::HtmlElement>().ok())
    {
        let _ = link.set_attribute("href", &url);
        let _ = link.set_attribute("download", name);
        link.click();
    }
    // Let go of the file once the browser has started saving it.
    leptos::prelude::set_timeout(
        move || {
            let _ = web_sys::Url::revoke_object_url(&url);
        },
        std::time::Duration::from_secs(5),
    );
}
