/** The subresource every stored resource has for its objects' history (kite-specific). */
export const HISTORY_SUBRESOURCE = 'history';
