//! Pure codecs between flow calls and partner HTTP.
