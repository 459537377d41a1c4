//! Screen length accounting in GSM-7 / UCS-2 (ussd.md §5).
//!
//! A USSD string carries 160 octets. In GSM-7 that is 182 packed septets
//! (160 is the safe default), but one character outside the GSM-7 alphabet
//! switches the whole screen to UCS-2 and halves the budget to 80. Counting
//! `chars()` is therefore wrong both ways: extension characters such as `€`
//! cost two septets, and a single `₦` or curly quote costs half the screen.

use std::borrow::Cow;

/// How a screen will be encoded on the air interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encoding {
    /// The GSM 7-bit default alphabet (basic set plus extension table).
    Gsm7,
    /// UCS-2 (UTF-16), forced by any character outside GSM-7.
    Ucs2,
}

/// The encoded size of a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Measure {
    /// The encoding the whole text needs.
    pub encoding: Encoding,
    /// Septets for [`Encoding::Gsm7`] (extension characters count 2), UTF-16
    /// code units for [`Encoding::Ucs2`] (a character outside the BMP, such as
    /// most emoji, counts 2).
    pub units: usize,
}

/// The GSM-7 basic set (3GPP TS 23.038), in code order 0x00–0x7F, except
/// 0x1B (ESC): a literal ESC in our text would be read as the escape to the
/// extension table, so it is not a character we can send.
const BASIC: [char; 127] = [
    '@', '£', '$', '¥', 'è', 'é', 'ù', 'ì', 'ò', 'Ç', '\n', 'Ø', 'ø', '\r', 'Å', 'å', //
    'Δ', '_', 'Φ', 'Γ', 'Λ', 'Ω', 'Π', 'Ψ', 'Σ', 'Θ', 'Ξ', 'Æ', 'æ', 'ß', 'É', // no ESC
    ' ', '!', '"', '#', '¤', '%', '&', '\'', '(', ')', '*', '+', ',', '-', '.', '/', //
    '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', ':', ';', '<', '=', '>', '?', //
    '¡', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O', //
    'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', 'X', 'Y', 'Z', 'Ä', 'Ö', 'Ñ', 'Ü', '§', //
    '¿', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o', //
    'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', 'ä', 'ö', 'ñ', 'ü', 'à', //
];

/// The GSM-7 extension table: each costs ESC + code, 2 septets.
const EXTENSION: [char; 10] = ['\u{0C}', '^', '{', '}', '\\', '[', '~', ']', '|', '€'];

/// GSM-7 septets for one character, `None` if it is outside GSM-7.
fn septets(c: char) -> Option<usize> {
    // Nearly every character on a screen is ASCII: one table lookup for it
    // (this runs for every character of every screen, several times a hop),
    // a scan of the tables only for the rest.
    if c.is_ascii() {
        return match ASCII_SEPTETS[c as usize] {
            0 => None,
            n => Some(usize::from(n)),
        };
    }
    if BASIC.contains(&c) {
        Some(1)
    } else if EXTENSION.contains(&c) {
        Some(2)
    } else {
        None
    }
}

/// ASCII characters that sit in the GSM-7 basic set (1 septet). The ASCII
/// characters missing here are the extension-table ones (`[ \ ] ^ { | } ~`,
/// 2 septets), the backtick (not in GSM-7 at all) and control characters
/// other than LF and CR.
const fn is_ascii_basic(c: char) -> bool {
    matches!(c,
        'A'..='Z' | 'a'..='z' | '0'..='9' | ' ' | '\n' | '\r'
        | '!' | '"' | '#' | '$' | '%' | '&' | '\'' | '(' | ')' | '*' | '+' | ','
        | '-' | '.' | '/' | ':' | ';' | '<' | '=' | '>' | '?' | '@' | '_')
}

/// Septets of each ASCII character in GSM-7 (0: not in it), built at
/// compile time from the same definitions as the slow path.
static ASCII_SEPTETS: [u8; 128] = {
    let mut table = [0u8; 128];
    let mut i = 0;
    while i < 128 {
        let c = i as u8 as char;
        table[i] = if is_ascii_basic(c) || const_contains(&BASIC, c) {
            1
        } else if const_contains(&EXTENSION, c) {
            2
        } else {
            0
        };
        i += 1;
    }
    table
};

const fn const_contains(set: &[char], c: char) -> bool {
    let mut i = 0;
    while i < set.len() {
        if set[i] == c {
            return true;
        }
        i += 1;
    }
    false
}

/// Whether a character is in GSM-7 (basic set or extension table).
pub fn is_gsm7(c: char) -> bool {
    septets(c).is_some()
}

/// Measures a text (the displayed screen, without any `CON `/`END ` prefix).
///
/// If every character is in GSM-7 the encoding is [`Encoding::Gsm7`] and the
/// units are septets (basic 1, extension 2). Otherwise the whole text is
/// UCS-2 and the units are UTF-16 code units.
pub fn measure(text: &str) -> Measure {
    let mut units = 0usize;
    for c in text.chars() {
        match septets(c) {
            Some(n) => units += n,
            None => {
                return Measure {
                    encoding: Encoding::Ucs2,
                    units: text.encode_utf16().count(),
                }
            }
        }
    }
    Measure {
        encoding: Encoding::Gsm7,
        units,
    }
}

/// The largest GSM-7 budget a USSD string can carry: 160 octets × 8 / 7.
pub const MAX_GSM7: usize = 182;
/// The default GSM-7 budget: 160 septets, which every handset shows.
pub const DEFAULT_GSM7: usize = 160;
/// The UCS-2 budget: 160 octets / 2.
pub const MAX_UCS2: usize = 80;

/// How much text fits on one screen, per encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Budget {
    /// GSM-7 septets.
    pub gsm7: usize,
    /// UCS-2 code units.
    pub ucs2: usize,
}

impl Default for Budget {
    /// 160 GSM-7 septets, 80 UCS-2 units: the safe default of §5.
    fn default() -> Self {
        Budget {
            gsm7: DEFAULT_GSM7,
            ucs2: MAX_UCS2,
        }
    }
}

impl Budget {
    /// A budget of `gsm7` septets, clamped to [`MAX_GSM7`] (182) because the
    /// 160-octet string cannot carry more. The UCS-2 budget is 80, or `gsm7`
    /// if that is smaller: a handset that shows fewer characters shows fewer
    /// in either encoding.
    pub fn new(gsm7: usize) -> Self {
        let gsm7 = gsm7.min(MAX_GSM7);
        Budget {
            gsm7,
            ucs2: MAX_UCS2.min(gsm7),
        }
    }

    /// The limit, in [`Measure::units`], for an encoding.
    pub fn limit_for(&self, encoding: Encoding) -> usize {
        match encoding {
            Encoding::Gsm7 => self.gsm7,
            Encoding::Ucs2 => self.ucs2,
        }
    }

    /// Whether `text` fits in this budget in the encoding it needs.
    pub fn fits(&self, text: &str) -> bool {
        let m = measure(text);
        m.units <= self.limit_for(m.encoding)
    }
}

/// The GSM-7 replacement for a common non-GSM character, if there is one.
///
/// Every replacement is in GSM-7 (a test checks this over a wide character
/// range). Characters already in GSM-7 are never looked up, so `é è à ù ì ò
/// Ç Ä Ö Ñ Ü ä ö ñ ü` and friends survive. Combining marks and invisible
/// characters map to nothing: names pasted from NFD sources or web pages
/// otherwise force UCS-2 for no visible gain.
fn replacement(c: char) -> Option<&'static str> {
    Some(match c {
        // Punctuation that word processors and bank back-offices "smarten".
        '…' => "...",
        '‘' | '’' | '‚' | '‛' | '´' | '`' | '′' => "'",
        '“' | '”' | '„' | '‟' | '″' | '«' | '»' => "\"",
        '‐' | '‑' | '‒' | '–' | '—' | '―' | '−' | '•' => "-",
        '×' => "x",
        // Currency: write the code rather than lose half the screen.
        '₦' => "NGN",
        '¢' => "c",
        // Spaces and invisibles.
        '\u{A0}' | '\u{2007}' | '\u{2009}' | '\u{200A}' | '\u{202F}' | '\t' => " ",
        '\u{AD}' | '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{2060}' | '\u{FEFF}' => "",
        '\u{300}'..='\u{36F}' => "",
        // Latin letters with marks GSM-7 lacks (GSM-7 has é è à ù ì ò Ç Ä Ö
        // Ñ Ü ä ö ñ ü É Å å Æ æ Ø ø ß). Includes the Yoruba, Igbo and Akan
        // letters common in West African names.
        'á' | 'â' | 'ã' | 'ā' | 'ă' | 'ą' | 'ạ' => "a",
        'À' | 'Á' | 'Â' | 'Ã' | 'Ā' | 'Ă' | 'Ą' | 'Ạ' => "A",
        'ê' | 'ë' | 'ē' | 'ĕ' | 'ė' | 'ę' | 'ě' | 'ẹ' | 'ɛ' => "e",
        'È' | 'Ê' | 'Ë' | 'Ē' | 'Ĕ' | 'Ė' | 'Ę' | 'Ě' | 'Ẹ' | 'Ɛ' => "E",
        'í' | 'î' | 'ï' | 'ĩ' | 'ī' | 'ĭ' | 'į' | 'ı' | 'ị' => "i",
        'Ì' | 'Í' | 'Î' | 'Ï' | 'Ĩ' | 'Ī' | 'Ĭ' | 'Į' | 'İ' | 'Ị' => "I",
        'ó' | 'ô' | 'õ' | 'ō' | 'ŏ' | 'ő' | 'ọ' | 'ɔ' => "o",
        'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ō' | 'Ŏ' | 'Ő' | 'Ọ' | 'Ɔ' => "O",
        'ú' | 'û' | 'ũ' | 'ū' | 'ŭ' | 'ů' | 'ű' | 'ų' | 'ụ' => "u",
        'Ù' | 'Ú' | 'Û' | 'Ũ' | 'Ū' | 'Ŭ' | 'Ů' | 'Ű' | 'Ų' | 'Ụ' => "U",
        'ç' | 'ć' | 'ĉ' | 'ċ' | 'č' => "c",
        'Ć' | 'Ĉ' | 'Ċ' | 'Č' => "C",
        'ď' | 'đ' => "d",
        'Ď' | 'Đ' => "D",
        'ĝ' | 'ğ' | 'ġ' | 'ģ' => "g",
        'Ĝ' | 'Ğ' | 'Ġ' | 'Ģ' => "G",
        'ń' | 'ņ' | 'ň' | 'ǹ' | 'ŋ' => "n",
        'Ń' | 'Ņ' | 'Ň' | 'Ǹ' | 'Ŋ' => "N",
        'ś' | 'ŝ' | 'ş' | 'š' | 'ș' | 'ṣ' => "s",
        'Ś' | 'Ŝ' | 'Ş' | 'Š' | 'Ș' | 'Ṣ' => "S",
        'ţ' | 'ť' | 'ț' => "t",
        'Ţ' | 'Ť' | 'Ț' => "T",
        'ý' | 'ÿ' | 'ŷ' => "y",
        'Ý' | 'Ÿ' | 'Ŷ' => "Y",
        'ź' | 'ż' | 'ž' => "z",
        'Ź' | 'Ż' | 'Ž' => "Z",
        'ł' => "l",
        'Ł' => "L",
        'ř' => "r",
        'Ř' => "R",
        'œ' => "oe",
        'Œ' => "OE",
        _ => return None,
    })
}

/// Replaces common non-GSM characters with GSM-7 equivalents, so bank and
/// account names, and copy pasted from elsewhere, do not force the whole
/// screen into UCS-2 (half the budget).
///
/// `…` → `...`, curly and acute quotes and backtick → `'`/`"`, dashes → `-`,
/// `₦` → `NGN`, non-breaking and thin spaces → space, invisible characters
/// and combining marks → removed, accented letters GSM-7 lacks (`ê á í ô ọ ú
/// ç ɛ ɔ …`) → the bare letter. Characters already in GSM-7 are kept, so a
/// text that is GSM-7 already comes back unchanged (borrowed). Characters
/// with no mapping (emoji, non-Latin scripts) are kept too; the result then
/// still measures as UCS-2, and the expansions (`…` → 3 characters) can make
/// it slightly longer in UCS-2 units than the input.
pub fn sanitize(text: &str) -> Cow<'_, str> {
    let Some(first) = text.find(|c: char| !is_gsm7(c)) else {
        return Cow::Borrowed(text);
    };
    let mut out = String::with_capacity(text.len());
    out.push_str(&text[..first]);
    for c in text[first..].chars() {
        if is_gsm7(c) {
            out.push(c);
        } else if let Some(rep) = replacement(c) {
            out.push_str(rep);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}
