package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/dxexchange/dx"
	"github.com/dxexchange/dx/api"
	"github.com/dxexchange/dx/asset"
	"github.com/dxexchange/dx/catalog"
	"github.com/dxexchange/dx/client"
	"github.com/dxexchange/dx/compute"
	"github.com/dxexchange/dx/contract"
	"github.com/dxexchange/dx/dsp"
	"github.com/dxexchange/dx/party"
)

// cli holds what every client verb shares.
type cli struct {
	c      *client.Client
	json   bool
	stdout io.Writer
	stderr io.Writer
}

func (c *cli) print(v any, table func(tw *tabwriter.Writer)) error {
	if c.json {
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(v)
	}
	tw := tabwriter.NewWriter(c.stdout, 2, 4, 2, ' ', 0)
	table(tw)
	return tw.Flush()
}

// parse parses flags that may come before or after positional arguments.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, errUsage
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func need(pos []string, n int, what string, stderr io.Writer) error {
	if len(pos) < n {
		fmt.Fprintf(stderr, "dx: 缺少参数 / missing arguments: %s\n", what)
		return errUsage
	}
	return nil
}

func runClient(ctx context.Context, noun string, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("dx "+noun, flag.ContinueOnError)
	fs.SetOutput(stderr)
	server := fs.String("server", envOr("DX_SERVER", "http://127.0.0.1:8080"), "dx server URL")
	token := fs.String("token", os.Getenv("DX_TOKEN"), "API token")
	asJSON := fs.Bool("json", false, "print JSON")
	// Flags of all verbs; each verb reads the ones it documents.
	roles := fs.String("roles", "", "roles, comma-separated")
	uscc := fs.String("uscc", "", "unified social credit code")
	org := fs.String("org", "", "organisation ID")
	scopes := fs.String("scopes", "read", "token scopes, comma-separated")
	purpose := fs.String("purpose", "", "purpose of use")
	reason := fs.String("reason", "", "reason for a decision")
	status := fs.String("status", "", "grant status filter")
	out := fs.String("o", "", "output file")
	format := fs.String("format", "", "file format")
	version := fs.Int("version", 0, "version number (0: latest)")
	industry := fs.String("industry", "", "GB/T 4754 section letter")
	region := fs.String("region", "", "GB/T 2260 region code")
	provider := fs.String("provider", "", "provider organisation ID")
	limit := fs.Int("limit", 20, "results per page")
	cursor := fs.String("cursor", "", "page cursor")
	policyFile := fs.String("policy", "", "offer: ODRL policy file (compact DSP JSON)")
	termsFile := fs.String("terms", "", "contract request: requested terms file (must equal or narrow the offer)")
	auto := fs.Bool("auto", false, "offer: approve requests that equal or narrow it automatically")
	pid := fs.String("pid", "", "contract request: your process ID (makes retries idempotent)")
	resume := fs.Bool("resume", false, "fetch: continue a partial download (FILE.part) with a Range request")
	inPlace := fs.Bool("in-place", false, "register: let the server read FILE from its import directory (no upload)")
	level := fs.Int("level", 0, "grade: the level decided, 1–4")
	important := fs.Bool("important", false, "grade: the data is important data (重要数据)")
	core := fs.Bool("core", false, "grade: the data is core data (核心数据, never leaves)")
	approve := fs.Bool("approve-egress", false, "grade (operator): important data may leave")
	unit := fs.String("unit", "", "compute setup: the privacy unit column (empty: one row per person)")
	maxGroups := fs.Int("max-groups", 1, "compute setup: groups one unit may count in (1–10)")
	snapshotRows := fs.Int("snapshot-rows", 0, "compute setup: run user-level queries on a snapshot of at most this many rows per unit (0: none)")
	var meta asset.Meta
	keywords := fs.String("keywords", "", "keywords, comma-separated")
	fs.StringVar(&meta.Title.Zh, "title-zh", "", "Chinese title")
	fs.StringVar(&meta.Title.En, "title-en", "", "English title")
	fs.StringVar(&meta.Description.Zh, "desc-zh", "", "Chinese description")
	fs.StringVar(&meta.Description.En, "desc-en", "", "English description")
	fs.StringVar(&meta.Frequency, "frequency", "", "update frequency")
	fs.StringVar(&meta.Source, "source", "", "data source")
	fs.StringVar(&meta.Licence, "licence", "", "licence")
	fs.StringVar(&meta.Visibility, "visibility", "", "private, listed or open")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	c := &cli{c: client.New(*server, *token), json: *asJSON, stdout: stdout, stderr: stderr}
	verb := ""
	if noun != "fetch" && noun != "query" {
		if err := need(pos, 1, noun+" VERB", stderr); err != nil {
			return err
		}
		verb, pos = pos[0], pos[1:]
	}
	split := func(s string) []string {
		var out []string
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
		return out
	}
	switch noun + " " + verb {
	case "org list":
		orgs, err := c.c.Orgs(ctx)
		if err != nil {
			return err
		}
		return c.print(orgs, func(tw *tabwriter.Writer) {
			fmt.Fprintln(tw, "ID\t名称 NAME\t角色 ROLES")
			for _, o := range orgs {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", o.ID, o.Name, strings.Join(o.Roles, ","))
			}
		})
	case "org show":
		if err := need(pos, 1, "ORG", stderr); err != nil {
			return err
		}
		var o party.Org
		if err := c.c.Do(ctx, "GET", "/api/v1/orgs/"+pos[0], nil, &o); err != nil {
			return err
		}
		return c.print(o, func(tw *tabwriter.Writer) {
			fmt.Fprintf(tw, "ID\t%s\n名称 Name\t%s\n角色 Roles\t%s\n信用代码 USCC\t%s\n公钥 Ed25519\t%x\n", o.ID, o.Name, strings.Join(o.Roles, ","), o.USCC, o.PublicKey)
		})
	case "org create":
		if err := need(pos, 1, "NAME", stderr); err != nil {
			return err
		}
		res, err := c.c.CreateOrg(ctx, party.NewOrg{Name: pos[0], USCC: *uscc, Roles: split(*roles)})
		if err != nil {
			return err
		}
		return c.print(res, func(tw *tabwriter.Writer) {
			fmt.Fprintf(tw, "机构 Organisation\t%s\t%s\n令牌 Token (shown once)\t%s\n", res.Org.ID, res.Org.Name, res.Token)
		})
	case "member list":
		o := *org
		if len(pos) > 0 {
			o = pos[0]
		}
		var res struct {
			Members []party.Member `json:"members"`
		}
		if o == "" {
			me, err := c.c.Whoami(ctx)
			if err != nil {
				return err
			}
			o = me.ID
		}
		if err := c.c.Do(ctx, "GET", "/api/v1/orgs/"+o+"/members", nil, &res); err != nil {
			return err
		}
		return c.print(res.Members, func(tw *tabwriter.Writer) {
			fmt.Fprintln(tw, "ID\t姓名 NAME\t邮箱 EMAIL")
			for _, m := range res.Members {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", m.ID, m.Name, m.Email)
			}
		})
	case "member add":
		if err := need(pos, 2, "NAME EMAIL", stderr); err != nil {
			return err
		}
		o := *org
		if o == "" {
			me, err := c.c.Whoami(ctx)
			if err != nil {
				return err
			}
			o = me.ID
		}
		var m party.Member
		if err := c.c.Do(ctx, "POST", "/api/v1/orgs/"+o+"/members", map[string]string{"name": pos[0], "email": pos[1]}, &m); err != nil {
			return err
		}
		return c.print(m, func(tw *tabwriter.Writer) { fmt.Fprintf(tw, "已添加 added\t%s\t%s\n", m.ID, m.Name) })
	case "token list":
		toks, err := c.c.Tokens(ctx, *org)
		if err != nil {
			return err
		}
		return c.print(toks, func(tw *tabwriter.Writer) {
			fmt.Fprintln(tw, "ID\t名称 NAME\t范围 SCOPES\t状态 STATUS")
			for _, t := range toks {
				st := "active"
				if t.RevokedAt != nil {
					st = "revoked " + t.RevokedAt.Format(time.DateTime)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", t.ID, t.Name, strings.Join(t.Scopes, ","), st)
			}
		})
	case "token create":
		if err := need(pos, 1, "NAME", stderr); err != nil {
			return err
		}
		res, err := c.c.CreateToken(ctx, *org, pos[0], split(*scopes))
		if err != nil {
			return err
		}
		return c.print(res, func(tw *tabwriter.Writer) {
			fmt.Fprintf(tw, "令牌 Token\t%s\n密钥 Secret (shown once)\t%s\n", res.Token.ID, res.Secret)
		})
	case "token revoke":
		if err := need(pos, 1, "TOKEN", stderr); err != nil {
			return err
		}
		if err := c.c.RevokeToken(ctx, pos[0]); err != nil {
			return err
		}
		return c.print(map[string]string{"revoked": pos[0]}, func(tw *tabwriter.Writer) { fmt.Fprintf(tw, "已吊销 revoked\t%s\n", pos[0]) })
	case "asset register":
		if err := need(pos, 2, "NAME FILE", stderr); err != nil {
			return err
		}
		meta.Keywords = split(*keywords)
		meta.Industry, meta.Region = *industry, *region
		return c.register(ctx, pos[0], pos[1], *format, meta, *inPlace)
	case "asset list":
		return c.search(ctx, catalog.Query{Provider: *provider, Industry: *industry, Region: *region, Format: *format, Limit: *limit, Cursor: *cursor})
	case "catalog search":
		return c.search(ctx, catalog.Query{Text: strings.Join(pos, " "), Provider: *provider, Industry: *industry, Region: *region, Format: *format, Limit: *limit, Cursor: *cursor})
	case "asset show":
		if err := need(pos, 1, "ASSET", stderr); err != nil {
			return err
		}
		page, err := c.c.Asset(ctx, pos[0])
		if err != nil {
			return err
		}
		return c.print(page, func(tw *tabwriter.Writer) { showAsset(tw, page.Asset, page.Version) })
	case "asset classify", "asset grade":
		if err := need(pos, 1, "ASSET", stderr); err != nil {
			return err
		}
		var g asset.Grade
		var body any
		if verb == "grade" {
			body = asset.Decision{Level: *level, Important: *important, Core: *core, Approve: *approve, Reason: *reason}
		}
		if err := c.c.Do(ctx, "POST", "/api/v1/assets/"+url.PathEscape(pos[0])+"/"+verb, body, &g); err != nil {
			return err
		}
		return c.print(g, func(tw *tabwriter.Writer) {
			if g.Proposal != nil {
				fmt.Fprintf(tw, "分级建议 Proposed\t%d级 level %d\n", g.Proposal.Level, g.Proposal.Level)
				for _, r := range g.Proposal.Reasons {
					fmt.Fprintf(tw, "  \t%s\n", r)
				}
			}
			if g.Level > 0 {
				fmt.Fprintf(tw, "定级 Decided\t%d级 level %d（%s：%s）重要 important=%v 核心 core=%v 准许流出 egress approved=%v\n", g.Level, g.Level, g.DecidedBy, g.Reason, g.Important, g.Core, g.Approved)
			}
		})
	case "asset versions":
		if err := need(pos, 1, "ASSET", stderr); err != nil {
			return err
		}
		vs, err := c.c.Versions(ctx, pos[0])
		if err != nil {
			return err
		}
		return c.print(vs, func(tw *tabwriter.Writer) {
			fmt.Fprintln(tw, "版本 V\t行数 ROWS\t格式 FORMAT\t编码 ENCODING\tSHA-256\t时间 CREATED")
			for _, v := range vs {
				fmt.Fprintf(tw, "%d\t%d\t%s\t%s\t%.16s…\t%s\n", v.Number, v.RowCount, v.SourceFormat, v.SourceEncoding, v.Digest, v.CreatedAt.Format(time.DateTime))
			}
		})
	case "access request":
		if err := need(pos, 1, "ASSET", stderr); err != nil {
			return err
		}
		g, err := c.c.RequestAccess(ctx, pos[0], *purpose)
		if err != nil {
			return err
		}
		return c.print(g, func(tw *tabwriter.Writer) {
			fmt.Fprintf(tw, "申请 Grant\t%s\n状态 Status\t%s\n等待提供方审批 / waiting for the provider:\tdx access approve %s\n", g.ID, g.Status, g.ID)
		})
	case "access approve", "access reject", "access revoke":
		if err := need(pos, 1, "GRANT", stderr); err != nil {
			return err
		}
		st := map[string]string{"approve": "approved", "reject": "rejected", "revoke": "revoked"}[verb]
		g, err := c.c.Decide(ctx, pos[0], st, *reason)
		if err != nil {
			return err
		}
		return c.print(g, func(tw *tabwriter.Writer) { fmt.Fprintf(tw, "申请 Grant\t%s\n状态 Status\t%s\n", g.ID, g.Status) })
	case "access list":
		gs, err := c.c.Grants(ctx, *status)
		if err != nil {
			return err
		}
		return c.print(gs, func(tw *tabwriter.Writer) {
			fmt.Fprintln(tw, "ID\t资产 ASSET\t申请方 CONSUMER\t状态 STATUS\t用途 PURPOSE")
			for _, g := range gs {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", g.ID, g.AssetID, g.ConsumerID, g.Status, g.Purpose)
			}
		})
	case "offer create":
		if err := need(pos, 1, "ASSET", stderr); err != nil {
			return err
		}
		pol, err := os.ReadFile(*policyFile)
		if err != nil {
			return dx.Wrap(err, dx.EInvalid, "需要 --policy 文件 / --policy FILE is required and readable")
		}
		o, err := c.c.CreateOffer(ctx, pos[0], pol, *auto)
		if err != nil {
			return err
		}
		return c.print(o, func(tw *tabwriter.Writer) {
			fmt.Fprintf(tw, "报价 Offer\t%s\n条款 Terms\tsha256:%s\n自动批准 Auto-approve\t%v\n", o.ID, o.Digest, o.AutoApprove)
		})
	case "offer list":
		if err := need(pos, 1, "ASSET", stderr); err != nil {
			return err
		}
		offers, err := c.c.Offers(ctx, pos[0])
		if err != nil {
			return err
		}
		return c.print(offers, func(tw *tabwriter.Writer) {
			fmt.Fprintln(tw, "报价 OFFER\t自动 AUTO\t条款 TERMS")
			for _, o := range offers {
				fmt.Fprintf(tw, "%s\t%v\t%s\n", o.ID, o.AutoApprove, compactJSON(o.Policy))
			}
		})
	case "contract request":
		if err := need(pos, 1, "OFFER", stderr); err != nil {
			return err
		}
		var terms []byte
		if *termsFile != "" {
			if terms, err = os.ReadFile(*termsFile); err != nil {
				return dx.Wrap(err, dx.EInvalid, "无法读取 --terms 文件 / cannot read --terms file")
			}
		}
		n, err := c.c.RequestContract(ctx, pos[0], terms, *pid)
		if err != nil {
			return err
		}
		return c.print(n, func(tw *tabwriter.Writer) { showNegotiation(tw, n) })
	case "contract list":
		ns, err := c.c.Negotiations(ctx)
		if err != nil {
			return err
		}
		return c.print(ns, func(tw *tabwriter.Writer) {
			fmt.Fprintln(tw, "协商 NEGOTIATION\t状态 STATE\t资产 ASSET\t协议 AGREEMENT\t原因 REASON")
			for _, n := range ns {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", n.ID, n.State, n.AssetID, n.AgreementID, n.Reason)
			}
		})
	case "contract approve", "contract terminate":
		if err := need(pos, 1, "NEGOTIATION", stderr); err != nil {
			return err
		}
		n, err := c.c.NegotiationAction(ctx, pos[0], verb, *reason)
		if err != nil {
			return err
		}
		return c.print(n, func(tw *tabwriter.Writer) { showNegotiation(tw, n) })
	case "agreement list":
		ags, err := c.c.Agreements(ctx)
		if err != nil {
			return err
		}
		return c.print(ags, func(tw *tabwriter.Writer) {
			fmt.Fprintln(tw, "协议 AGREEMENT\t资产 ASSET\t提供方 PROVIDER\t使用方 CONSUMER\t已用 USES\t状态 STATUS")
			for _, a := range ags {
				st := "active"
				if a.RevokedAt != nil {
					st = "revoked"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", a.ID, a.AssetID, a.ProviderID, a.ConsumerID, a.Uses, st)
			}
		})
	case "agreement get":
		if err := need(pos, 1, "AGREEMENT", stderr); err != nil {
			return err
		}
		doc, err := c.c.AgreementDocument(ctx, pos[0])
		if err != nil {
			return err
		}
		if *out != "" {
			if err := os.WriteFile(*out, doc, 0o640); err != nil {
				return err
			}
			fmt.Fprintf(stderr, "已保存 saved %s — 离线验证 / verify offline: dx agreement verify %s\n", *out, *out)
			return nil
		}
		_, err = stdout.Write(append(doc, '\n'))
		return err
	case "agreement revoke":
		if err := need(pos, 1, "AGREEMENT", stderr); err != nil {
			return err
		}
		if err := c.c.RevokeAgreement(ctx, pos[0], *reason); err != nil {
			return err
		}
		return c.print(map[string]string{"revoked": pos[0]}, func(tw *tabwriter.Writer) { fmt.Fprintf(tw, "已撤销 revoked\t%s\n", pos[0]) })
	case "transfer request":
		if err := need(pos, 1, "AGREEMENT", stderr); err != nil {
			return err
		}
		tr, err := c.c.RequestTransfer(ctx, pos[0], *purpose, *pid)
		if err != nil {
			return err
		}
		if *out != "" && tr.DataAddress != nil {
			if err := c.pull(ctx, *tr.DataAddress, *format, *out); err != nil {
				return err
			}
		}
		return c.print(tr, func(tw *tabwriter.Writer) { showTransfer(tw, tr) })
	case "transfer list":
		var res struct {
			Transfers []api.TransferView `json:"transfers"`
		}
		if err := c.c.Do(ctx, "GET", "/api/v1/transfers", nil, &res); err != nil {
			return err
		}
		return c.print(res.Transfers, func(tw *tabwriter.Writer) {
			fmt.Fprintln(tw, "传输 TRANSFER\t状态 STATE\t协议 AGREEMENT\t版本 V\t原因 REASON")
			for _, t := range res.Transfers {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", t.ID, t.State, t.AgreementID, t.Version, t.Reason)
			}
		})
	case "transfer suspend", "transfer resume", "transfer complete", "transfer terminate":
		if err := need(pos, 1, "TRANSFER", stderr); err != nil {
			return err
		}
		tr, err := c.c.ChangeTransfer(ctx, pos[0], verb, *reason)
		if err != nil {
			return err
		}
		return c.print(tr, func(tw *tabwriter.Writer) { showTransfer(tw, tr) })
	case "peer list":
		var res struct {
			Peers []dsp.Peer `json:"peers"`
		}
		if err := c.c.Do(ctx, "GET", "/api/v1/peers", nil, &res); err != nil {
			return err
		}
		return c.print(res.Peers, func(tw *tabwriter.Writer) {
			fmt.Fprintln(tw, "参与方 PARTICIPANT\t地址 URL")
			for _, p := range res.Peers {
				fmt.Fprintf(tw, "%s\t%s\n", p.ParticipantID, p.URL)
			}
		})
	case "peer catalog":
		if err := need(pos, 1, "PARTICIPANT", stderr); err != nil {
			return err
		}
		var cat map[string]any
		if err := c.c.Do(ctx, "GET", "/api/v1/peers/catalog?participant="+url.QueryEscape(pos[0]), nil, &cat); err != nil {
			return err
		}
		return c.print(cat, func(tw *tabwriter.Writer) {
			fmt.Fprintln(tw, "数据集 DATASET\t标题 TITLE\t报价 OFFERS")
			ds, _ := cat["dataset"].([]any)
			for _, d := range ds {
				m, _ := d.(map[string]any)
				var offers []string
				pols, _ := m["hasPolicy"].([]any)
				for _, p := range pols {
					if pm, ok := p.(map[string]any); ok {
						offers = append(offers, fmt.Sprint(pm["@id"]))
					}
				}
				fmt.Fprintf(tw, "%v\t%v\t%s\n", m["@id"], m["dct:title"], strings.Join(offers, " "))
			}
		})
	case "peer negotiate":
		if err := need(pos, 3, "PARTICIPANT DATASET OFFER", stderr); err != nil {
			return err
		}
		var res api.RemoteNegotiationView
		if err := c.c.Do(ctx, "POST", "/api/v1/peers/negotiations", map[string]string{"participant": pos[0], "dataset_id": pos[1], "offer_id": pos[2]}, &res); err != nil {
			return err
		}
		return c.print(res, func(tw *tabwriter.Writer) {
			fmt.Fprintf(tw, "协商 Negotiation\t%s\n对端 Peer\t%s\n状态 State\t%s\n查看进度 / follow it:\tdx peer negotiations\n", res.ConsumerPID, res.Peer, res.State)
		})
	case "peer negotiations":
		var res struct {
			Negotiations []api.RemoteNegotiationView `json:"negotiations"`
		}
		if err := c.c.Do(ctx, "GET", "/api/v1/peers/negotiations", nil, &res); err != nil {
			return err
		}
		return c.print(res.Negotiations, func(tw *tabwriter.Writer) {
			fmt.Fprintln(tw, "协商 NEGOTIATION\t对端 PEER\t状态 STATE\t协议 AGREEMENT")
			for _, n := range res.Negotiations {
				ag := ""
				if n.Agreement != nil {
					ag = n.Agreement.Policy.ID
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", n.ConsumerPID, n.Peer, n.State, ag)
			}
		})
	case "peer transfer":
		if err := need(pos, 2, "PARTICIPANT AGREEMENT", stderr); err != nil {
			return err
		}
		var res contract.RemoteTransfer
		if err := c.c.Do(ctx, "POST", "/api/v1/peers/transfers", map[string]string{"participant": pos[0], "agreement_id": pos[1]}, &res); err != nil {
			return err
		}
		return c.print(res, func(tw *tabwriter.Writer) {
			fmt.Fprintf(tw, "传输 Transfer\t%s\n状态 State\t%s\n取数 / pull:\tdx peer pull %s -o data.csv\n", res.ConsumerPID, res.State, res.ConsumerPID)
		})
	case "peer accept", "peer terminate":
		if err := need(pos, 1, "NEGOTIATION (consumer PID)", stderr); err != nil {
			return err
		}
		var res api.RemoteNegotiationView
		path := "/api/v1/peers/negotiations/" + url.PathEscape(pos[0]) + "/" + verb
		var body any
		if verb == "terminate" {
			body = map[string]string{"reason": *reason}
		}
		if err := c.c.Do(ctx, "POST", path, body, &res); err != nil {
			return err
		}
		return c.print(res, func(tw *tabwriter.Writer) {
			fmt.Fprintf(tw, "协商 Negotiation\t%s\n状态 State\t%s\n", res.ConsumerPID, res.State)
		})
	case "peer suspend", "peer resume", "peer complete", "peer stop":
		if err := need(pos, 1, "TRANSFER (consumer PID)", stderr); err != nil {
			return err
		}
		action := map[string]string{"stop": "terminate"}[verb]
		if action == "" {
			action = verb
		}
		var res contract.RemoteTransfer
		if err := c.c.Do(ctx, "POST", "/api/v1/peers/transfers/"+url.PathEscape(pos[0])+"/"+action, map[string]string{"reason": *reason}, &res); err != nil {
			return err
		}
		return c.print(res, func(tw *tabwriter.Writer) {
			fmt.Fprintf(tw, "传输 Transfer\t%s\n状态 State\t%s\n", res.ConsumerPID, res.State)
		})
	case "peer transfers":
		var res struct {
			Transfers []contract.RemoteTransfer `json:"transfers"`
		}
		if err := c.c.Do(ctx, "GET", "/api/v1/peers/transfers", nil, &res); err != nil {
			return err
		}
		return c.print(res.Transfers, func(tw *tabwriter.Writer) {
			fmt.Fprintln(tw, "传输 TRANSFER\t对端 PEER\t状态 STATE\t协议 AGREEMENT")
			for _, t := range res.Transfers {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", t.ConsumerPID, t.Peer, t.State, t.AgreementID)
			}
		})
	case "peer pull":
		if err := need(pos, 1, "TRANSFER", stderr); err != nil {
			return err
		}
		f := *format
		if f == "" {
			f = "csv"
		}
		target := *out
		if target == "" {
			target = "-"
		}
		var w io.Writer = stdout
		var file *os.File
		if target != "-" {
			if file, err = os.Create(target + ".part"); err != nil {
				return err
			}
			w = file
		}
		n, _, err := c.c.GetStream(ctx, "/api/v1/peers/transfers/"+url.PathEscape(pos[0])+"/data?format="+url.QueryEscape(f), w)
		if file != nil {
			file.Close()
			if err != nil {
				os.Remove(target + ".part")
				return err
			}
			fmt.Fprintf(stderr, "已保存 saved %s (%d bytes)\n", target, n)
			return os.Rename(target+".part", target)
		}
		return err
	case "fetch ":
		if err := need(pos, 1, "ASSET", stderr); err != nil {
			return err
		}
		return c.fetch(ctx, pos[0], *version, *format, *out, *resume)
	case "query ":
		if err := need(pos, 2, "ASSET SQL (or @FILE, or - for standard input)", stderr); err != nil {
			return err
		}
		return c.query(ctx, pos[0], pos[1], *purpose, stdin)
	case "compute setup":
		if err := need(pos, 1, "ASSET", stderr); err != nil {
			return err
		}
		st, err := c.c.SetCompute(ctx, pos[0], compute.Settings{UnitColumn: *unit, MaxGroups: *maxGroups, SnapshotRows: *snapshotRows})
		if err != nil {
			return err
		}
		return c.print(st, func(tw *tabwriter.Writer) {
			fmt.Fprintf(tw, "资产 ASSET\t%s\n隐私单元 UNIT\t%s\n每单元最多分组 MAX GROUPS\t%d\n快照每单元行数 SNAPSHOT ROWS\t%d\n", st.AssetID, orDash(st.UnitColumn), st.MaxGroups, st.SnapshotRows)
		})
	case "compute show":
		if err := need(pos, 1, "ASSET", stderr); err != nil {
			return err
		}
		st, err := c.c.ComputeSettings(ctx, pos[0])
		if err != nil {
			return err
		}
		return c.print(st, func(tw *tabwriter.Writer) {
			fmt.Fprintf(tw, "资产 ASSET\t%s\n隐私单元 UNIT\t%s\n每单元最多分组 MAX GROUPS\t%d\n快照每单元行数 SNAPSHOT ROWS\t%d\n", st.AssetID, orDash(st.UnitColumn), st.MaxGroups, st.SnapshotRows)
		})
	case "compute budget":
		if err := need(pos, 1, "AGREEMENT", stderr); err != nil {
			return err
		}
		led, lim, err := c.c.Budget(ctx, pos[0])
		if err != nil {
			return err
		}
		return c.print(map[string]any{"ledger": led, "limits": lim}, func(tw *tabwriter.Writer) {
			fmt.Fprintln(tw, "\t已用 SPENT\t预留 RESERVED\t总额 TOTAL\t每次上限 PER QUERY")
			fmt.Fprintf(tw, "ε\t%g\t%g\t%g\t%g\n", led.Spent.Epsilon, led.Reserved.Epsilon, lim.Total.Epsilon, lim.PerQuery.Epsilon)
			fmt.Fprintf(tw, "δ\t%g\t%g\t%g\t%g\n", led.Spent.Delta, led.Reserved.Delta, lim.Total.Delta, lim.PerQuery.Delta)
			fmt.Fprintf(tw, "ρ\t%g\t%g\t%g\t%g\n", led.Spent.Rho, led.Reserved.Rho, lim.Total.Rho, lim.PerQuery.Rho)
			fmt.Fprintf(tw, "查询数 QUERIES\t%d\n", led.Queries)
		})
	}
	fmt.Fprintf(stderr, "dx: 未知命令 / unknown command: dx %s %s\n\n%s", noun, verb, usage)
	return errUsage
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func (c *cli) search(ctx context.Context, q catalog.Query) error {
	page, err := c.c.Search(ctx, q)
	if err != nil {
		return err
	}
	return c.print(page, func(tw *tabwriter.Writer) {
		fmt.Fprintln(tw, "ID\t标题 TITLE\t行业 IND\t地区 REGION\t版本 V\t级别 LEVEL\t可见性 VISIBILITY")
		for _, h := range page.Hits {
			a := h.Asset
			title := a.Meta.Title.Zh
			if a.Meta.Title.En != "" {
				title = strings.TrimSpace(title + " / " + a.Meta.Title.En)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", a.ID, title, a.Meta.Industry, a.Meta.Region, a.LatestVersion, levelText(a.Grade), a.Meta.Visibility)
		}
		if page.NextCursor != "" {
			fmt.Fprintf(tw, "\n下一页 next page: --cursor %s\n", page.NextCursor)
		}
	})
}

func showAsset(tw *tabwriter.Writer, a asset.Asset, v asset.Version) {
	fmt.Fprintf(tw, "ID\t%s\n名称 Name\t%s\n标题 Title\t%s / %s\n描述 Description\t%s\n", a.ID, a.Name, a.Meta.Title.Zh, a.Meta.Title.En, a.Meta.Description.String())
	fmt.Fprintf(tw, "行业 Industry\t%s\n地区 Region\t%s\n更新频率 Frequency\t%s\n可见性 Visibility\t%s\n", a.Meta.Industry, a.Meta.Region, a.Meta.Frequency, a.Meta.Visibility)
	fmt.Fprintf(tw, "持有权 Holding\t%s\n加工使用权 Processing use\t%s\n经营权 Product operation\t%s\n", a.Rights.Holder, strings.Join(a.Rights.ProcessingUse, ","), a.Rights.ProductOperator)
	for _, p := range a.Lineage {
		fmt.Fprintf(tw, "上游 Parent\t%s (%s)\n", p.AssetID, p.Transformation)
	}
	fmt.Fprintf(tw, "版本 Version\t%d（%d 行 rows, %s, %s）\nSHA-256\t%s\n", v.Number, v.RowCount, v.SourceFormat, v.SourceEncoding, v.Digest)
	for _, w := range v.Warnings {
		fmt.Fprintf(tw, "提示 Note\t%s\n", w)
	}
	fmt.Fprintln(tw, "\n列 COLUMN\t类型 TYPE\t空值 NULLS\t不同值≈ DISTINCT\t最小 MIN\t最大 MAX")
	for _, col := range v.Columns {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%s\n", col.Name, col.Type, col.NullCount, col.Distinct, col.Min, col.Max)
	}
	if p := v.Classification; p != nil {
		var flags []string
		for _, f := range []struct {
			on   bool
			text string
		}{{p.Sensitive, "敏感个人信息 sensitive PI"}, {p.Minors, "未成年人 minors"}, {p.ImportantCandidate, "重要数据候选 important-data candidate"},
			{p.Credentials, "含口令密钥 credentials"}, {p.Review, "需复核 needs review"}} {
			if f.on {
				flags = append(flags, f.text)
			}
		}
		fmt.Fprintf(tw, "\n分级建议 Proposed grade\t%d级 level %d %s\n", p.Level, p.Level, strings.Join(flags, ", "))
		for _, c := range p.Columns {
			for _, f := range c.Findings {
				fmt.Fprintf(tw, "  %s\t%s（%d级, %.0f%%）%s\n", c.Name, f.Type, f.Grade, 100*f.Confidence, f.Reason)
			}
		}
	}
	if len(v.Sample) > 0 {
		fmt.Fprintln(tw, "\n样例 SAMPLE（个人信息已遮盖 / personal data masked）")
		var names []string
		for _, col := range v.Columns {
			names = append(names, col.Name)
		}
		fmt.Fprintln(tw, strings.Join(names, "\t"))
		for _, row := range v.Sample {
			fmt.Fprintln(tw, strings.Join(row, "\t"))
		}
	}
}

func (c *cli) register(ctx context.Context, name, path, format string, meta asset.Meta, inPlace bool) error {
	if inPlace {
		abs, err := filepath.Abs(path)
		if err != nil {
			return err
		}
		res, err := c.c.Register(ctx, asset.Register{Name: name, Meta: meta, ImportPath: abs, Format: format}, nil)
		if err != nil {
			return err
		}
		return c.print(res, func(tw *tabwriter.Writer) { showAsset(tw, res.Asset, res.Version) })
	}
	f, err := os.Open(path)
	if err != nil {
		return dx.Wrap(err, dx.EInvalid, "无法打开文件 / cannot open "+path)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	bar := newProgress(c.stderr, "上传 upload", st.Size())
	res, err := c.c.Register(ctx, asset.Register{Name: name, Meta: meta, FileName: path, Format: format}, io.TeeReader(f, bar))
	bar.done()
	if err != nil {
		return err
	}
	return c.print(res, func(tw *tabwriter.Writer) { showAsset(tw, res.Asset, res.Version) })
}

func (c *cli) fetch(ctx context.Context, id string, version int, format, out string, resume bool) error {
	if format == "" {
		format = "csv"
	}
	if out == "" {
		out = fmt.Sprintf("%s.%s", id, format)
	}
	var w io.Writer = c.stdout
	var offset int64
	if out != "-" {
		// With --resume, continue a partial download with a Range request; versions are
		// immutable, so the bytes already there belong to the same file if the same
		// asset, version and format are asked for.
		flags := os.O_CREATE | os.O_WRONLY | os.O_TRUNC
		if resume {
			flags = os.O_CREATE | os.O_WRONLY | os.O_APPEND
		}
		f, err := os.OpenFile(out+".part", flags, 0o640)
		if err != nil {
			return err
		}
		defer f.Close()
		if st, err := f.Stat(); err == nil {
			offset = st.Size()
		}
		w = f
	}
	bar := newProgress(c.stderr, "下载 download", -1)
	bar.n = offset
	n, total, err := c.c.Download(ctx, id, version, format, offset, io.MultiWriter(w, bar))
	bar.total = total
	bar.done()
	if err != nil {
		if offset == 0 && out != "-" {
			os.Remove(out + ".part")
		}
		return err
	}
	if out != "-" {
		if err := os.Rename(out+".part", out); err != nil {
			return err
		}
		fmt.Fprintf(c.stderr, "已保存 saved %s (%d bytes)\n", out, offset+n)
	}
	return nil
}

func showNegotiation(tw *tabwriter.Writer, n api.NegotiationView) {
	fmt.Fprintf(tw, "协商 Negotiation\t%s\n状态 State\t%s\n资产 Asset\t%s\n报价 Offer\t%s\n", n.ID, n.State, n.AssetID, n.OfferID)
	if n.AgreementID != "" {
		fmt.Fprintf(tw, "协议 Agreement\t%s\n", n.AgreementID)
	}
	if n.Reason != "" {
		fmt.Fprintf(tw, "原因 Reason\t%s\n", n.Reason)
	}
	if n.State == "REQUESTED" {
		fmt.Fprintf(tw, "等待提供方 / waiting for the provider:\tdx contract approve %s\n", n.ID)
	}
}

func compactJSON(v any) string {
	b, _ := json.Marshal(v)
	if len(b) > 120 {
		return string(b[:117]) + "..."
	}
	return string(b)
}

func showTransfer(tw *tabwriter.Writer, t api.TransferView) {
	fmt.Fprintf(tw, "传输 Transfer\t%s\n状态 State\t%s\n协议 Agreement\t%s\n版本 Version\t%d\n", t.ID, t.State, t.AgreementID, t.Version)
	if a := t.DataAddress; a != nil {
		fmt.Fprintf(tw, "数据地址 Endpoint\t%s\n令牌 Token (shown once)\t%s\n有效至 Expires\t%s\n", a.Endpoint, a.Token, a.ExpiresAt.Format(time.RFC3339))
	}
	if t.Reason != "" {
		fmt.Fprintf(tw, "原因 Reason\t%s\n", t.Reason)
	}
}

// pull downloads a started transfer to a file, via FILE.part and a rename.
func (c *cli) pull(ctx context.Context, addr contract.DataAddress, format, out string) error {
	if format == "" {
		format = "csv"
	}
	f, err := os.Create(out + ".part")
	if err != nil {
		return err
	}
	bar := newProgress(c.stderr, "下载 download", -1)
	n, err := c.c.Pull(ctx, addr, format, io.MultiWriter(f, bar))
	bar.done()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(out + ".part")
		return err
	}
	fmt.Fprintf(c.stderr, "已保存 saved %s (%d bytes)\n", out, n)
	return os.Rename(out+".part", out)
}

func levelText(level int) string {
	if level == 0 {
		return "-"
	}
	return fmt.Sprintf("%d级", level)
}
