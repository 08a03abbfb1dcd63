// returns: {"nan":null,"inf":null,"date":"2020-01-02T03:04:05.000Z"}
function main(params, context) {
  return { nan: NaN, inf: Infinity, date: new Date(Date.UTC(2020, 0, 2, 3, 4, 5)), f: function () {} };
}
