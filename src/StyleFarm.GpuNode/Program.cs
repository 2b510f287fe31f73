// The GPU node process arrives with the farm (see the farm issue); until then it only says so.
Console.Error.WriteLine("stylefarm-node: the distributed farm is not built yet; use `stylefarm render`.");
return 2;
