// The library behind the `sf migrate` commands; commands stay thin over these modules.
export {};
