//! The four languages of every word a person reads (English, Spanish, Catalan and Dutch, as
//! Soffid's `Accept-Language`), and one message in all of them ([`Text`]). A leaf: the API's
//! messages, the admin app's words and the reasons of `standing` are written with it.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Es,
    Ca,
    Nl,
}

impl Lang {
    /// The best supported language of an `Accept-Language` header (by q-value), English otherwise.
    pub fn from_accept_language(header: Option<&str>) -> Lang {
        let mut choices: Vec<(f32, Lang)> = header
            .unwrap_or_default()
            .split(',')
            .filter_map(|part| {
                let mut pieces = part.split(';');
                let tag = pieces.next()?.trim().to_ascii_lowercase();
                let q = pieces
                    .find_map(|p| p.trim().strip_prefix("q=").and_then(|q| q.parse::<f32>().ok()))
                    .unwrap_or(1.0);
                let lang = match tag.split('-').next()? {
                    "en" => Lang::En,
                    "es" => Lang::Es,
                    "ca" => Lang::Ca,
                    "nl" => Lang::Nl,
                    _ => return None,
                };
                (q > 0.0).then_some((q, lang))
            })
            .collect();
        // Stable sort: among equal q-values the header's order wins.
        choices.sort_by(|a, b| b.0.total_cmp(&a.0));
        choices.first().map_or(Lang::En, |(_, lang)| *lang)
    }

    /// The language of a BCP 47 tag (`es-ES`: Spanish), English for any other.
    pub fn from_tag(tag: &str) -> Lang {
        match tag.split('-').next().unwrap_or_default().to_ascii_lowercase().as_str() {
            "es" => Lang::Es,
            "ca" => Lang::Ca,
            "nl" => Lang::Nl,
            _ => Lang::En,
        }
    }

    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Es => "es",
            Lang::Ca => "ca",
            Lang::Nl => "nl",
        }
    }
}

/// One message in the four languages, with `{}` for each argument in order.
pub struct Text {
    en: &'static str,
    es: &'static str,
    ca: &'static str,
    nl: &'static str,
}

impl Text {
    pub const fn new(en: &'static str, es: &'static str, ca: &'static str, nl: &'static str) -> Text {
        Text { en, es, ca, nl }
    }

    /// The message in `lang`, as written.
    pub fn get(&self, lang: Lang) -> &'static str {
        match lang {
            Lang::En => self.en,
            Lang::Es => self.es,
            Lang::Ca => self.ca,
            Lang::Nl => self.nl,
        }
    }

    pub fn render(&self, lang: Lang, args: &[&str]) -> String {
        let template = self.get(lang);
        let mut out = String::with_capacity(template.len() + 32);
        let mut args = args.iter();
        let mut pieces = template.split("{}");
        if let Some(first) = pieces.next() {
            out.push_str(first);
        }
        for piece in pieces {
            out.push_str(args.next().copied().unwrap_or_default());
            out.push_str(piece);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_picks_the_best_supported() {
        assert_eq!(Lang::from_accept_language(None), Lang::En);
        assert_eq!(Lang::from_accept_language(Some("es-ES,es;q=0.9,en;q=0.8")), Lang::Es);
        assert_eq!(Lang::from_accept_language(Some("fr-FR, nl;q=0.5, ca;q=0.7")), Lang::Ca);
        assert_eq!(Lang::from_accept_language(Some("de, fr")), Lang::En);
        assert_eq!(Lang::from_accept_language(Some("NL-be")), Lang::Nl);
        assert_eq!(Lang::from_accept_language(Some("es;q=0, en")), Lang::En);
    }

    #[test]
    fn a_tag_names_its_language() {
        assert_eq!(Lang::from_tag("es-ES"), Lang::Es);
        assert_eq!(Lang::from_tag("NL"), Lang::Nl);
        assert_eq!(Lang::from_tag("fr"), Lang::En);
        assert_eq!(Lang::from_tag(""), Lang::En);
    }
}
