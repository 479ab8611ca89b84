export {
  type AdmissionOptions,
  admitPhoto,
  DECODE_POLICY,
  type DecodedPhoto,
  decodePhotoRaster,
  type PhotoHeader,
  type RasterOptions,
  readPhotoHeader,
} from './decode.js';
export {
  isPhotoRejectionReason,
  PHOTO_REJECTION_REASONS,
  type PhotoErrorCode,
  PhotoRejectedError,
  type PhotoRejectionDetails,
  type PhotoRejectionReason,
} from './errors.js';
export { CONTENT_TYPES, PHOTO_FORMATS, type PhotoContentType, type PhotoFormat } from './formats.js';
export { PHOTO_LIMITS } from './limits.js';
export { SNIFF_BYTES, type Sniffed, sniffPhoto } from './sniff.js';
