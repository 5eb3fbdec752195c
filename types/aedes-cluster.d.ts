// These packages ship no types; edgerun only calls their factories.
declare module 'aedes-persistence-redis' {
  const factory: (options: object) => unknown
  export default factory
}
