//! Volunteers' photos (issue 18): whatever the phone sends (JPEG or PNG, at most 8 MiB and 8,000
//! pixels a side) is decoded, cut to a centred square, resized to 256 × 256 and encoded again as
//! a JPEG. Nothing of the original file survives: no EXIF block (the camera, the time, the GPS
//! position of the volunteer's home), no XMP, no ICC profile, no comment.

use image::{ImageFormat, ImageReader, Limits};

/// The side of a stored photo, in pixels.
pub const PHOTO_SIDE: u32 = 256;
/// Largest photo a phone may send.
pub const MAX_PHOTO_BYTES: usize = 8 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhotoError {
    #[error("photo trop lourde (8 Mo au plus) / photo larger than 8 MiB")]
    TooLarge,
    #[error("ce n'est pas une photo JPEG ou PNG lisible / not a readable JPEG or PNG picture")]
    Unreadable,
}

impl PhotoError {
    pub fn code(&self) -> &'static str {
        match self {
            PhotoError::TooLarge => "photo_too_large",
            PhotoError::Unreadable => "photo_unreadable",
        }
    }
}

/// The stored form of a photo: a 256 × 256 JPEG made from the decoded pixels only.
pub fn normalise(bytes: &[u8]) -> Result<Vec<u8>, PhotoError> {
    if bytes.len() > MAX_PHOTO_BYTES {
        return Err(PhotoError::TooLarge);
    }
    let format = image::guess_format(bytes).map_err(|_| PhotoError::Unreadable)?;
    if !matches!(format, ImageFormat::Jpeg | ImageFormat::Png) {
        return Err(PhotoError::Unreadable);
    }
    let mut reader = ImageReader::with_format(std::io::Cursor::new(bytes), format);
    let mut limits = Limits::default();
    limits.max_image_width = Some(8_000);
    limits.max_image_height = Some(8_000);
    limits.max_alloc = Some(256 * 1024 * 1024);
    reader.limits(limits);
    let img = reader.decode().map_err(|_| PhotoError::Unreadable)?;
    let side = img.width().min(img.height());
    if side == 0 {
        return Err(PhotoError::Unreadable);
    }
    let square = img.crop_imm((img.width() - side) / 2, (img.height() - side) / 2, side, side);
    let small = square.resize_exact(PHOTO_SIDE, PHOTO_SIDE, image::imageops::FilterType::Triangle).to_rgb8();
    let mut out = Vec::new();
    let enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85);
    small.write_with_encoder(enc).map_err(|_| PhotoError::Unreadable)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A JPEG with an EXIF block holding a GPS position, as a phone's camera writes it.
    fn camera_jpeg(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([(x % 256) as u8, (y % 256) as u8, 90]));
        let mut plain = Vec::new();
        img.write_with_encoder(image::codecs::jpeg::JpegEncoder::new_with_quality(&mut plain, 90)).unwrap();
        // APP1 "Exif" segment right after SOI, with a recognisable GPS payload.
        let payload = b"Exif\0\0GPSLatitude 45.7640 N GPSLongitude 4.8357 E Canon EOS";
        let mut out = plain[..2].to_vec();
        out.extend_from_slice(&[0xFF, 0xE1]);
        out.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
        out.extend_from_slice(payload);
        out.extend_from_slice(&plain[2..]);
        out
    }

    fn contains(hay: &[u8], needle: &[u8]) -> bool {
        hay.windows(needle.len()).any(|w| w == needle)
    }

    #[test]
    fn a_camera_photo_comes_out_square_small_and_without_metadata() {
        let input = camera_jpeg(1200, 900);
        assert!(contains(&input, b"GPSLatitude") && contains(&input, b"Exif"));
        let out = normalise(&input).unwrap();
        let back = image::load_from_memory(&out).unwrap();
        assert_eq!((back.width(), back.height()), (PHOTO_SIDE, PHOTO_SIDE));
        assert!(!contains(&out, b"Exif"), "the EXIF block is gone");
        assert!(!contains(&out, b"GPSLatitude") && !contains(&out, b"Canon"));
        assert!(out.len() < 60_000, "{} bytes", out.len());
    }

    #[test]
    fn what_is_not_a_photo_is_refused() {
        assert_eq!(normalise(b"not a picture"), Err(PhotoError::Unreadable));
        assert_eq!(normalise(b"GIF89a\x01\x00\x01\x00"), Err(PhotoError::Unreadable));
        let truncated = &camera_jpeg(64, 64)[..200];
        assert_eq!(normalise(truncated), Err(PhotoError::Unreadable));
        assert_eq!(normalise(&vec![0u8; MAX_PHOTO_BYTES + 1]), Err(PhotoError::TooLarge));
    }
}
