export { KafkaLog } from './log.ts'
export type { KafkaLogOptions } from './options.ts'
