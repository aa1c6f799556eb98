// The pure part of the webhook: parse a delivery, then plan what it asks for.
export * from './events';
export * from './gates';
export * from './plan';
