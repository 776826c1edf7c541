// The console's script and styles are imported as text (`with { type: 'text' }`): Bun and Deno
// read them at build time, so the compiled binary carries them.
declare module '*/console.js' {
  const text: string
  export default text
}
declare module '*.css' {
  const text: string
  export default text
}
