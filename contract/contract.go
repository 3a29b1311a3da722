// Package contract owns usage contracts: the Dataspace Protocol's contract-negotiation
// state machine, and Agreements — an Offer's terms (possibly narrowed by the consumer)
// bound to a target, the two parties and a time, signed by both organisations' Ed25519
// keys over the terms digest so that anyone can verify them offline.
//
// This file set is the pure core (transitions, signing, verification); negotiation
// storage, the enforcement point and the DSP HTTP binding build on it.
package contract

import (
	"fmt"

	"github.com/dxexchange/dx"
)

// State is a contract negotiation's state (DSP 2025-1).
type State string

// The negotiation states; FINALIZED and TERMINATED are terminal.
const (
	Requested  State = "REQUESTED"
	Offered    State = "OFFERED"
	Accepted   State = "ACCEPTED"
	Agreed     State = "AGREED"
	Verified   State = "VERIFIED"
	Finalized  State = "FINALIZED"
	Terminated State = "TERMINATED"
)

// Terminal reports whether s admits no further transition.
func (s State) Terminal() bool { return s == Finalized || s == Terminated }

// Message is a kind of negotiation message, by what it does.
type Message string

// The negotiation messages.
const (
	MsgRequest      Message = "ContractRequestMessage"           // C→P, initial (no providerPid)
	MsgCounter      Message = "ContractRequestMessage (counter)" // C→P, with providerPid
	MsgOffer        Message = "ContractOfferMessage"             // P→C
	MsgAccepted     Message = "ContractNegotiationEventMessage:ACCEPTED"
	MsgAgreement    Message = "ContractAgreementMessage" // P→C
	MsgVerification Message = "ContractAgreementVerificationMessage"
	MsgFinalized    Message = "ContractNegotiationEventMessage:FINALIZED"
	MsgTermination  Message = "ContractNegotiationTerminationMessage"
)

// transitions is the DSP decision table: current state and inbound message → next
// state. Anything absent is an invalid transition (400, state unchanged).
var transitions = map[State]map[Message]State{
	"":        {MsgRequest: Requested, MsgOffer: Offered},
	Requested: {MsgOffer: Offered, MsgAgreement: Agreed, MsgTermination: Terminated},
	Offered:   {MsgCounter: Requested, MsgAccepted: Accepted, MsgTermination: Terminated},
	Accepted:  {MsgAgreement: Agreed, MsgTermination: Terminated},
	Agreed:    {MsgVerification: Verified, MsgTermination: Terminated},
	Verified:  {MsgFinalized: Finalized, MsgTermination: Terminated},
}

// Next returns the state after message m arrives in state cur. Terminating a terminated
// negotiation is a no-op (same state, no error, dx rule); every other message after a
// terminal state, and every message the table does not allow, is an EInvalid error with
// the code "invalid-transition" in its details.
func Next(cur State, m Message) (State, error) {
	if cur == Terminated && m == MsgTermination {
		return Terminated, nil
	}
	if next, ok := transitions[cur][m]; ok {
		return next, nil
	}
	where := string(cur)
	if where == "" {
		where = "no negotiation"
	}
	return cur, &dx.Error{Code: dx.EInvalid, Details: map[string]any{"code": "invalid-transition"},
		Message: fmt.Sprintf("状态 %s 下不允许 %s / %s not allowed in state %s", where, m, m, where)}
}
