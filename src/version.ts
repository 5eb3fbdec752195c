/** edgerun's own version, advertised in births. Kept in step with package.json by a test. */
export const EDGERUN_VERSION = '0.1.0'
