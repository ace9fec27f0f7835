// Where the camera ledger and the home isolation checks live (docs/video.md).
const V1 = '/api/v1';

export const videoPaths = {
  cameras: `${V1}/cameras`,
  observations: `${V1}/observations`,
  natSites: `${V1}/nat/sites`,
  places: `${V1}/places`,
};

// The tag of a stream check's state.
export const STATE_TAGS = { online: 'success', offline: 'danger', unchecked: 'warning', unknown: 'info' };
