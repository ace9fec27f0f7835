// The upload of one file lives in web/shared/upload.js (the console's
// article covers use it too); this name stays for the mobile pages.
export { uploadFile } from '@shared/upload.js';
