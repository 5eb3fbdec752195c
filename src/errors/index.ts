export * from './codes.js'
export * from './edgerun-error.js'
