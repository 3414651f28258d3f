import { StringDecoder } from "node:string_decoder";
import { CsvParser } from "../common/csv/parse.js";
import {
  LIFETIME_VALUE_COLUMN,
  lifetimeColumnIndex,
  parseLifetimeValue,
} from "../common/documents/lifetime-output.js";
import { InputError } from "../common/errors.js";

/**
 * `campaign.value_column: lifetime`: each customer's lifetime value from the
 * lifetime pipeline's customers.csv, joined to the week's scores by id.
 * customers.csv is streamed once into one Map of id -> value (the only
 * per-customer state; scores.csv then streams past it), so memory is one
 * entry per customer of the purchase log, whatever the size of the week.
 * Customers whose lifetime_value is empty (no spend model) are not in the
 * map: to the ranking they are customers without a value.
 */
export async function readLifetimeValues(
  bytes: AsyncIterable<Uint8Array>,
  source: string,
): Promise<Map<string, number>> {
  const values = new Map<string, number>();
  let column = -1;
  const parser = new CsvParser(
    { delimiter: ",", source },
    (fields, line) => {
      if (column < 0) {
        column = lifetimeColumnIndex(fields, LIFETIME_VALUE_COLUMN, source);
        return;
      }
      const value = parseLifetimeValue(fields[column] ?? "", source, line);
      if (value !== null) values.set(fields[0]!, value);
    },
    (line, _field, reason) => {
      throw new InputError(`${source} line ${line}: ${reason}`);
    },
  );
  const decoder = new StringDecoder("utf8");
  for await (const chunk of bytes) parser.push(decoder.write(Buffer.from(chunk)));
  parser.push(decoder.end());
  parser.end();
  if (column < 0) throw new InputError(`${source} is empty: it has no header`);
  return values;
}
